/**
 * Running in production: health checks, Prometheus metrics, the HTTP server and high availability (lock
 * files on one host, ZooKeeper elections across hosts). Reads the cycle's status board and the CDC
 * stream's status, and observes cycles; never reads or writes a table itself.
 */
@Room(mayUse = {"app", "common", "config", "cycle", "cdc"})
package io.pgchloader.ops;

import io.pgchloader.common.Room;
