// Clean: a Java program that closes every socket it opens: blocking sockets, NIO
// channels with a selector (which makes the JDK open its own long-lived socketpair),
// and an HTTP request to a local server; then it lingers half a second, so that the
// shim's scans see what stays open. Under --fail-on-leak it must pass.
import java.io.InputStream;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URL;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;

public class Clean {
    public static void main(String[] args) throws Exception {
        InetAddress lo = InetAddress.getLoopbackAddress();
        try (ServerSocket server = new ServerSocket(0, 50, lo)) {
            for (int i = 0; i < 10; i++) {
                try (Socket c = new Socket(lo, server.getLocalPort()); Socket s = server.accept()) {
                    c.getOutputStream().write(1);
                    s.getInputStream().read();
                }
            }
        }
        try (ServerSocketChannel ssc = ServerSocketChannel.open(); Selector sel = Selector.open()) {
            ssc.bind(new InetSocketAddress(lo, 0));
            for (int i = 0; i < 10; i++) {
                try (SocketChannel c = SocketChannel.open(ssc.getLocalAddress()); SocketChannel s = ssc.accept()) {
                    s.configureBlocking(false);
                    s.register(sel, SelectionKey.OP_READ);
                    c.write(ByteBuffer.wrap(new byte[] {1}));
                    sel.select(1000);
                    sel.selectedKeys().clear();
                }
            }
        }
        // HTTP: a tiny server thread answering one request with Connection: close
        try (ServerSocket http = new ServerSocket(0, 50, lo)) {
            Thread t = new Thread(() -> {
                try (Socket s = http.accept()) {
                    InputStream in = s.getInputStream();
                    byte[] buf = new byte[4096];
                    in.read(buf);
                    OutputStream out = s.getOutputStream();
                    out.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok".getBytes());
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            t.start();
            HttpURLConnection conn = (HttpURLConnection) new URL("http://127.0.0.1:" + http.getLocalPort() + "/").openConnection();
            try (InputStream in = conn.getInputStream()) {
                in.readAllBytes();
            }
            conn.disconnect();
            t.join();
        }
        Thread.sleep(500); // the shim's scans see the JDK's own long-lived sockets
        System.out.println("done");
    }
}
