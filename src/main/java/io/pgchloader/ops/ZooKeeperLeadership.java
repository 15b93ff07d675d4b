package io.pgchloader.ops;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.apache.camel.cluster.CamelClusterMember;
import org.apache.camel.support.cluster.AbstractCamelClusterService;
import org.apache.camel.support.cluster.AbstractCamelClusterView;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.leader.LeaderLatchListener;
import org.apache.curator.framework.recipes.leader.Participant;
import org.apache.curator.framework.state.ConnectionState;
import org.apache.curator.retry.ExponentialBackoffRetry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Table leadership in ZooKeeper (or ClickHouse Keeper, which speaks its protocol): one Curator
 * {@link LeaderLatch} per table under {@code /<CLUSTER_NAMESPACE>/}, a Camel cluster service so that Camel's
 * clustered route policy starts a table route on the latch's leader only.
 *
 * <p>Not camel-zookeeper's {@code ZooKeeperClusterService}: its view elects with a {@code LeaderSelector}
 * that never queues again once leadership ends, and Curator ends it when the connection is suspended (a
 * ZooKeeper restart, a network blip), so after a few such blips a table could be left with no leader on
 * any instance (read from its 4.18.0 code, not run). A latch takes part again on its own after a
 * reconnection, and can be left and joined again, which is how {@link TableBalancer} hands a table over.
 */
final class ZooKeeperLeadership extends AbstractCamelClusterService<ZooKeeperLeadership.TableLatch> {

    private static final Logger LOG = LoggerFactory.getLogger("io.pgchloader.cluster");

    /**
     * How long ZooKeeper keeps a silent instance's session, so its tables: the takeover after a {@code kill -9}
     * takes about this long. Short enough for "within seconds", long enough for a GC pause or a busy host.
     */
    static final int SESSION_TIMEOUT_MS = 10_000;
    static final int CONNECTION_TIMEOUT_MS = 5_000;

    private final String connectString;
    private final String root;
    private final String memberId;
    private CuratorFramework client;

    ZooKeeperLeadership(String connectString, String namespace) {
        this.connectString = connectString;
        this.root = "/" + namespace;
        this.memberId = thisInstance();
        setId("pg-ch-loader-zookeeper");
    }

    /** Where a table's latch lives, for the log lines. */
    String pathOf(String namespace) {
        return root + "/" + namespace;
    }

    String memberId() {
        return memberId;
    }

    /**
     * Connects before the routes start, so an unreachable ensemble stops the loader at start with one line
     * instead of leaving every table waiting for a leader.
     */
    void connect() {
        client = CuratorFrameworkFactory.builder()
                .connectString(connectString)
                .sessionTimeoutMs(SESSION_TIMEOUT_MS)
                .connectionTimeoutMs(CONNECTION_TIMEOUT_MS)
                .retryPolicy(new ExponentialBackoffRetry(500, 10, 5_000))
                .build();
        client.getConnectionStateListenable().addListener((c, state) -> logState(state));
        client.start();
        boolean connected;
        try {
            connected = client.blockUntilConnected(CONNECTION_TIMEOUT_MS * 2, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            connected = false;
        }
        if (!connected) {
            client.close();
            throw new IllegalStateException("cannot reach ZooKeeper at " + connectString + " (CLUSTER_ZOOKEEPER) within "
                    + CONNECTION_TIMEOUT_MS * 2 / 1000 + " s: check the address and that the ensemble runs");
        }
    }

    private void logState(ConnectionState state) {
        switch (state) {
            case SUSPENDED -> LOG.warn("ZooKeeper connection to {} suspended: this instance stops its tables until it is back",
                    connectString);
            case LOST -> LOG.warn("ZooKeeper session lost: this instance's tables may move to others; it takes part again"
                    + " when the connection is back");
            case RECONNECTED -> LOG.info("ZooKeeper connection to {} is back: this instance takes part in the elections again",
                    connectString);
            default -> { }
        }
    }

    @Override
    protected TableLatch createView(String namespace) {
        return new TableLatch(this, namespace);
    }

    @Override
    protected void doStop() throws Exception {
        super.doStop();
        if (client != null) {
            client.close();
        }
    }

    private static String thisInstance() {
        String host;
        try {
            host = InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            host = "unknown-host";
        }
        // the pid alone repeats across containers (often 1), the host name across processes of one host
        return host + "-" + ProcessHandle.current().pid() + "-" + Integer.toHexString(ThreadLocalRandom.current().nextInt(1 << 16));
    }

    /** One table's election. */
    static final class TableLatch extends AbstractCamelClusterView {

        private final ZooKeeperLeadership service;
        private final CamelClusterMember local;
        private volatile LeaderLatch latch;

        TableLatch(ZooKeeperLeadership service, String namespace) {
            super(service, namespace);
            this.service = service;
            this.local = new Member(true, service.memberId);
        }

        @Override
        protected void doStart() throws Exception {
            join();
        }

        @Override
        protected void doStop() throws Exception {
            leave();
        }

        boolean isLeader() {
            LeaderLatch current = latch;
            return current != null && current.hasLeadership();
        }

        /** Instances taking part in this election, this one included. */
        Collection<String> participantIds() {
            LeaderLatch current = latch;
            if (current == null) {
                return List.of();
            }
            try {
                return current.getParticipants().stream().map(Participant::getId).toList();
            } catch (Exception e) {
                return List.of(); // not connected: nothing to balance against
            }
        }

        /** Leaves the election and joins it again at its end, so the next instance in line leads. */
        synchronized void handOver() throws Exception {
            leave();
            join();
        }

        private synchronized void join() throws Exception {
            LeaderLatch fresh = new LeaderLatch(service.client, service.pathOf(getNamespace()), service.memberId);
            fresh.addListener(new LeaderLatchListener() {
                @Override
                public void isLeader() {
                    fireLeadershipChangedEvent(local);
                }

                @Override
                public void notLeader() {
                    // the policy asks the local member, which no longer leads; the event only wakes it
                    fireLeadershipChangedEvent(getLeader());
                }
            });
            latch = fresh;
            fresh.start();
        }

        private synchronized void leave() throws Exception {
            LeaderLatch current = latch;
            latch = null;
            if (current != null) {
                // NOTIFY_LEADER: a leader hears notLeader(), so the policy stops the route before another starts it
                current.close(LeaderLatch.CloseMode.NOTIFY_LEADER);
            }
        }

        @Override
        public Optional<CamelClusterMember> getLeader() {
            LeaderLatch current = latch;
            if (current == null) {
                return Optional.empty();
            }
            if (current.hasLeadership()) {
                return Optional.of(local);
            }
            try {
                Participant leader = current.getLeader();
                return leader.isLeader() ? Optional.of(new Member(false, leader.getId())) : Optional.empty();
            } catch (Exception e) {
                return Optional.empty();
            }
        }

        @Override
        public CamelClusterMember getLocalMember() {
            return local;
        }

        @Override
        public List<CamelClusterMember> getMembers() {
            return participantIds().stream()
                    .map(id -> id.equals(service.memberId) ? local : (CamelClusterMember) new Member(false, id))
                    .toList();
        }

        private final class Member implements CamelClusterMember {
            private final boolean isLocal;
            private final String id;

            Member(boolean isLocal, String id) {
                this.isLocal = isLocal;
                this.id = id;
            }

            @Override
            public boolean isLeader() {
                return isLocal ? TableLatch.this.isLeader() : getLeader().map(m -> m.getId().equals(id)).orElse(false);
            }

            @Override
            public boolean isLocal() {
                return isLocal;
            }

            @Override
            public String getId() {
                return id;
            }
        }
    }
}
