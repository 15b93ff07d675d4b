"""Serves the ClickHouse HTTP interface from libchdb.so until this process is killed.

Usage: python3 clickhouse_http.py <libchdb.so> <data dir> <port> [<listen host> <tcp port> <config file>]

With the last three, the process is one shard of a cluster: it also serves the native TCP port (which
Distributed tables of the other shards use) and reads remote_servers from the config file.

Started by io.pgchloader.embedded.EmbeddedClickHouse. The engine lives in a process of its own because
it installs its own signal handlers, which must not end up inside the JVM.
"""

import ctypes
import os
import sys
import threading
import time

# The listener only lives while a query runs, so the query after SYSTEM START LISTEN never ends;
# one row per second keeps its CPU use negligible.
NEVER_ENDS = "SELECT sleepEachRow(1) FROM system.numbers SETTINGS max_block_size=1 FORMAT Null"
SERVE_FOREVER = "SYSTEM START LISTEN HTTP; " + NEVER_ENDS
SERVE_SHARD_FOREVER = "SYSTEM START LISTEN QUERIES ALL; " + NEVER_ENDS

# Exit codes the JVM side can tell apart from a crash of the engine.
EXIT_USAGE = 2
EXIT_SERVER_STOPPED = 3


def parent_is_gone(initial_ppid, expected_parent):
    if os.getppid() != initial_ppid:
        return True
    if expected_parent is None:
        return False
    try:
        os.kill(expected_parent, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        # The pid exists (even if reused by someone else's process); only absence proves anything.
        return False
    return False


def exit_when_orphaned(expected_parent):
    # A JVM killed with SIGKILL runs no shutdown hook, so nothing would ever stop this server and its
    # port and data dir would stay taken. Reparenting is the one signal that always arrives.
    # The pid from the environment covers a JVM that died before this thread read getppid().
    initial_ppid = os.getppid()
    while True:
        if parent_is_gone(initial_ppid, expected_parent):
            os._exit(0)
        time.sleep(0.5)


def expected_parent_from_env():
    value = os.environ.get("PGCH_PARENT_PID", "")
    return int(value) if value.isdigit() else None


def main():
    if len(sys.argv) not in (4, 7):
        sys.stderr.write(__doc__)
        sys.exit(EXIT_USAGE)
    lib, data_dir, port = sys.argv[1:4]

    threading.Thread(target=exit_when_orphaned, args=(expected_parent_from_env(),),
                     name="exit-when-orphaned", daemon=True).start()

    # CDLL (not PyDLL) releases the GIL during the call, which lets the watchdog thread keep running
    # while the engine blocks in chdb_query_cmdline.
    engine = ctypes.CDLL(lib)
    engine.chdb_query_cmdline.argtypes = [ctypes.c_int, ctypes.POINTER(ctypes.c_char_p)]
    engine.chdb_query_cmdline.restype = ctypes.c_void_p
    engine.chdb_result_error.argtypes = [ctypes.c_void_p]
    engine.chdb_result_error.restype = ctypes.c_char_p

    if len(sys.argv) == 7:
        listen_host, tcp_port, config_file = sys.argv[4:7]
        args = ["clickhouse",
                "--config-file=" + config_file,
                "--path=" + data_dir,
                "--http_port=" + port,
                "--tcp_port=" + tcp_port,
                "--listen_host=" + listen_host,
                "--query=" + SERVE_SHARD_FOREVER]
    else:
        args = ["clickhouse",
                "--path=" + data_dir,
                "--http_port=" + port,
                "--listen_host=127.0.0.1",
                "--query=" + SERVE_FOREVER]
    argv = (ctypes.c_char_p * len(args))(*[a.encode() for a in args])
    result = engine.chdb_query_cmdline(len(args), argv)

    # The query never finishes by itself: getting here means the server failed to start or stopped.
    # The engine has already written its reason (e.g. "Address already in use") to stderr.
    error = engine.chdb_result_error(result) if result else None
    if error:
        sys.stderr.write(error.decode("utf-8", "replace") + "\n")
    sys.stderr.write("clickhouse_http: the server query returned; exiting\n")
    sys.stderr.flush()
    # Skip interpreter and engine teardown: static destructors of a half-started engine are not
    # worth the risk of a hang, and nothing needs flushing any more.
    os._exit(EXIT_SERVER_STOPPED)


if __name__ == "__main__":
    main()
