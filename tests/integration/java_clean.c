// A Java program that closes every socket it opens has no leak: nothing leaked, nothing
// closed late (the JDK's own NIO socketpair is left out by the built-in suppression),
// and the sockets it made were seen with Java frames (lang/Clean.java).
// REQUIRES: java, javac
// TIMEOUT: 60
// OPTIONS: close_wait_after=200ms:scan_interval=50ms
// RUN: javac -d %T %S/lang/Clean.java && java -cp %T Clean
// EXPECT: r["summary"]["leaked"] == 0 and r["summary"]["leaked_closed"] == 0
// EXPECT: r["summary"]["opened"] >= 7 and r["summary"]["live"] == 0
int main(void)
{
    return 0;
}
