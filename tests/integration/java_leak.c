// Java frames name the code (issue 13), with plain LD_PRELOAD and no agent flag: the
// sockets Leak.queryBackend connects and keeps (lang/Leak.java) are one leaked stack
// whose headline is Leak.queryBackend (Leak.java:16), below the JDK's own frames
// (sun.nio.ch.Net.socket0, java.net.Socket.connect...), then the native frames; the
// names were resolved when the VM died, before the exit report.
// REQUIRES: java, javac
// TIMEOUT: 60
// OPTIONS: close_wait_after=200ms:scan_interval=50ms
// RUN: javac -d %T %S/lang/Leak.java && java -Xshare:auto -cp %T Leak
// EXPECT: r["summary"]["leaked"] == 3 and len([g for g in r["groups"] if g["leaked"]]) == 1
// EXPECT: [(f["function"], f["file"], f["line"]) for f in stack(r["groups"][0]["stack"]) if f["lang"] == "java" and not f["function"].startswith(("java.", "sun."))] == [("Leak.queryBackend", "Leak.java", 16), ("Leak.main", "Leak.java", 23)]
// EXPECT: stack(r["groups"][0]["stack"])[0]["function"] == "sun.nio.ch.Net.socket0" and stack(r["groups"][0]["stack"])[0]["ip"] is None
// EXPECT: any(f["function"] == "java.net.Socket.connect" and f["file"] == "Socket.java" and f["line"] > 0 for f in stack(r["groups"][0]["stack"]))
// EXPECT: any(f["lang"] is None and f["function"] == "Java_sun_nio_ch_Net_socket0" for f in stack(r["groups"][0]["stack"]))
int main(void)
{
    return 0;
}
