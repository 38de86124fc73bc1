// JavaLeak (close_wait_after=0): Java leaks for the report tool's tests, run by
// shim_reports.py under the shim (compiled with javac). queryBackend() connects three
// sockets to a server that hangs up at once and keeps them (CLOSE_WAIT); readReply()
// reads two of them to end-of-file and returns without close().
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;

public class JavaLeak {
    static final List<Socket> kept = new ArrayList<>();

    static Socket queryBackend(int port) throws IOException {
        Socket s = new Socket();
        s.connect(new InetSocketAddress("127.0.0.1", port));
        return s;
    }

    static void readReply(Socket s) throws IOException {
        InputStream in = s.getInputStream();
        byte[] buf = new byte[64];
        while (in.read(buf) >= 0) {
        }
    }

    public static void main(String[] args) throws Exception {
        try (ServerSocket srv = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"))) {
            for (int i = 0; i < 3; i++) {
                Socket s = queryBackend(srv.getLocalPort());
                srv.accept().close();
                if (i < 2) {
                    readReply(s);
                }
                kept.add(s);
            }
            Thread.sleep(100);
        }
    }
}
