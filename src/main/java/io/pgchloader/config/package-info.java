/**
 * What the user configures: every setting with its default and meaning ({@link Setting}),
 * their values from the environment and {@code .env}, and the route files checked before anything starts.
 */
@Room(mayUse = {"common"})
package io.pgchloader.config;

import io.pgchloader.common.Room;
