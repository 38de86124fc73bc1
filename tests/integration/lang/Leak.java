// A leak in Leak.queryBackend: each socket is connected to a server that hangs up at
// once, and kept (tests/integration/java_leak.c).
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;

public class Leak {
    static final List<Socket> kept = new ArrayList<>();

    static Socket queryBackend(int port) throws IOException {
        Socket s = new Socket();
        s.connect(new InetSocketAddress("127.0.0.1", port));
        return s;
    }

    public static void main(String[] args) throws Exception {
        try (ServerSocket srv = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"))) {
            for (int i = 0; i < 3; i++) {
                kept.add(queryBackend(srv.getLocalPort()));
                srv.accept().close();
            }
            Thread.sleep(800);
        }
    }
}
