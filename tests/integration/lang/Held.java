// Sockets held while a report is asked for from outside (tests/integration/java_dump.c):
// Held.openOne's, made before "ready" is printed; the program then waits.
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;

public class Held {
    static final List<Socket> kept = new ArrayList<>();

    static void openOne(int port) throws Exception {
        kept.add(new Socket("127.0.0.1", port));
    }

    public static void main(String[] args) throws Exception {
        ServerSocket srv = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"));
        for (int i = 0; i < 2; i++) {
            openOne(srv.getLocalPort());
            kept.add(srv.accept());
        }
        System.out.println("ready");
        System.out.flush();
        Thread.sleep(Long.parseLong(args[0]));
        System.exit(3);
    }
}
