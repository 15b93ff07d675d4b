# pg-ch-loader: keeps ClickHouse tables in step with PostgreSQL tables.
#
#   docker compose up -d               # the scheduler, next to PostgreSQL and ClickHouse
#   docker compose run --rm loader --once
#
# Build stage: the thin jar plus its runtime dependencies (target/lib/), which the jar's manifest
# Class-Path points at, so both are copied side by side into the runtime image.

FROM maven:3.9-eclipse-temurin-17 AS build
WORKDIR /build

# Dependencies and plugins first: this layer is rebuilt only when pom.xml changes.
# Not dependency:go-offline: it resolves each dependency without the pom's exclusions and so fails on
# the unpublished com.github.luben:zstd-jni:cloud that clickhouse-jdbc declares (tried with Maven 3.9.9
# and plugin 3.8.1 to 3.10.0). resolve + resolve-plugins honour the exclusions, and were checked to
# cache everything the package step below needs (it then also passes with -o, offline).
COPY pom.xml ./
RUN mvn -B -q dependency:resolve dependency:resolve-plugins

# sql/ and routes/ are packaged into the jar as resources (see pom.xml), so they are needed here too.
COPY src ./src
COPY routes ./routes
COPY sql ./sql
RUN mvn -B -q package -DskipTests


FROM eclipse-temurin:17-jre

# An unprivileged user with a fixed id (above the 1000 that Ubuntu-based images may already use).
RUN groupadd --gid 10001 loader \
    && useradd --uid 10001 --gid loader --home-dir /app --no-create-home --shell /usr/sbin/nologin loader \
    && mkdir -p /app/locks && chown loader:loader /app/locks

WORKDIR /app
COPY --from=build /build/target/lib/ /app/lib/
COPY --from=build /build/target/pg-ch-loader.jar /app/pg-ch-loader.jar
# The default routes; docker-compose.yml mounts ./routes over this folder so tables can be added
# without a rebuild. ROUTES_DIR defaults to "routes", relative to the working directory /app.
COPY routes/ /app/routes/

USER loader

# Health and metrics (HTTP_PORT): /observe/health/ready, /observe/health/live, /observe/metrics.
# /app/locks: lock files for high availability (CLUSTER_LOCK_DIR=/app/locks, a volume shared by the loaders).
EXPOSE 8080

# Java heap sized from the container's memory limit. No argument: the Quartz schedule until SIGTERM
# (Camel drains for up to 30 s); --once: one cycle of every table, exit 0 / 1 (a table failed) /
# 2 (bad configuration). --demo needs python3 and npm, which this image does not have.
# The serial collector: cheapest for the loader's small heap (docs/performance.md).
ENTRYPOINT ["java", "-XX:MaxRAMPercentage=75", "-XX:+UseSerialGC", "-jar", "/app/pg-ch-loader.jar"]
