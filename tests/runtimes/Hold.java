// Hold: a JVM that keeps sockets open, some in CLOSE_WAIT (the peer hung up), and
// sleeps. Prints "ready" once they are open; exits after ARGV[0] seconds.
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;

public class Hold {
    static final List<Socket> held = new ArrayList<>();

    static void openAndForget(int port) throws Exception {
        held.add(new Socket(InetAddress.getLoopbackAddress(), port)); // never closed
    }

    public static void main(String[] args) throws Exception {
        int seconds = Integer.parseInt(args[0]);
        try (ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            for (int i = 0; i < 3; i++) {
                openAndForget(server.getLocalPort());
                server.accept().close(); // the peer hangs up: our end sits in CLOSE_WAIT
            }
            System.out.println("ready");
            System.out.flush();
            Thread.sleep(seconds * 1000L);
        }
    }
}
