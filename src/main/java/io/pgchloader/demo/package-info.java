/**
 * {@code --demo}: the seed's schema and data on embedded databases, a writer while the loader runs, and the
 * comparison that ends it.
 */
@Room(mayUse = {"app", "common", "config", "embedded"})
package io.pgchloader.demo;

import io.pgchloader.common.Room;
