// JavaScript frames name the code (issue 13): node makes the fd on a later tick, when
// pollStatus() is gone from the stack; sockleak-node.js (added to NODE_OPTIONS by the
// shim) took the stack where the socket was asked for and handed it over with the fd.
// The leak's headline is pollStatus (leak.js:8); node's own frames (node:net) are
// passed over; the listener and the sockets it accepted carry the listen stack
// (lang/leak.js).
// REQUIRES: node
// OPTIONS: close_wait_after=200ms:scan_interval=50ms
// RUN: node %S/lang/leak.js
// EXPECT: r["summary"]["leaked"] == 3 and len([g for g in r["groups"] if g["leaked"]]) == 1
// EXPECT: [(f["function"], f["file"].split("/")[-1], f["line"], f["column"]) for f in stack(r["groups"][0]["stack"]) if f["lang"] == "js" and not f["file"].startswith("node:")][0] == ("pollStatus", "leak.js", 8, 17)
// EXPECT: all(f["lang"] == "js" for f in stack(r["groups"][0]["stack"])[:2]) and any(f["lang"] is None for f in stack(r["groups"][0]["stack"]))
// EXPECT: sorted((g["origin"], [(f["function"], f["line"]) for f in stack(g["stack"]) if f["lang"] and not f["file"].startswith("node:internal")][:2]) for g in r["groups"] if not g["leaked"]) == [("accept", [("(accepted)", None), ("Object.<anonymous>", 13)]), ("socket", [("Object.<anonymous>", 13)])]
int main(void)
{
    return 0;
}
