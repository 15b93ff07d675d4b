/**
 * {@code --demo}: the seed's schema and data on embedded databases, a writer while the loader runs, and the
 * comparison that ends it. It reads the CDC stream's counts ({@code cdc}) to show the changes its CDC table
 * received by kind.
 */
@Room(mayUse = {"app", "common", "config", "embedded", "cdc"})
package io.pgchloader.demo;

import io.pgchloader.common.Room;
