/**
 * The application: {@link Main} reads the command line, {@link LoaderApplication}
 * wires the rooms into Camel, {@link CycleRunner} runs the table routes' cycles.
 */
@Room(mayUse = {"common", "config", "postgres", "clickhouse", "cycle", "cdc", "verify", "ops", "jmx", "embedded", "demo"})
package io.pgchloader;

import io.pgchloader.common.Room;
