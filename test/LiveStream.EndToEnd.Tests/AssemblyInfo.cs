// The end-to-end suites start real silos, gateways, redis-server and FFmpeg; on a 2-core machine they run one at a
// time so timing-sensitive failover checks are not starved by each other.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
