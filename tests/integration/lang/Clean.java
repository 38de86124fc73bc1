// A program that closes every socket it opens (tests/integration/java_clean.c).
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;

public class Clean {
    public static void main(String[] args) throws Exception {
        try (ServerSocket srv = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"))) {
            for (int i = 0; i < 3; i++) {
                try (Socket c = new Socket("127.0.0.1", srv.getLocalPort()); Socket a = srv.accept()) {
                    a.getOutputStream().write(1);
                    InputStream in = c.getInputStream();
                    in.read();
                }
            }
        }
        Thread.sleep(300);
    }
}
