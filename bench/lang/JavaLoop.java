// JavaLoop N - the Java row of make bench (bench/run.py): N rounds of
// SocketChannel.open() and close(), after a warm-up (the JIT compiles the loop); prints
// "wall NS cpu NS" per round (cpu: the looping thread's, which makes the sockets).
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.channels.SocketChannel;

public class JavaLoop {
    public static void main(String[] args) throws Exception {
        int n = Integer.parseInt(args[0]);
        for (int i = 0; i < 20000; i++)
            SocketChannel.open().close();
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        long t0 = System.nanoTime(), c0 = mx.getCurrentThreadCpuTime();
        for (int i = 0; i < n; i++)
            SocketChannel.open().close();
        long wall = System.nanoTime() - t0, cpu = mx.getCurrentThreadCpuTime() - c0;
        System.out.printf("wall %.1f cpu %.1f%n", wall / (double) n, cpu / (double) n);
    }
}
