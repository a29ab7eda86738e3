# Shell helpers of the scripts that drive scripts/cluster (cluster-bench,
# cluster-catchup); sourced, not run.

# cluster_ports OUT: the HTTP ports of the nodes scripts/cluster printed to
# the file OUT, one per line, n1 first.
cluster_ports() { grep -oE '^  n[0-9]  http://127.0.0.1:[0-9]+' "$1" | sed 's/.*://'; }

# settled PORT: waits up to 180 s until every partition is led by its
# preferred replica (a new cluster's rebalancing moves are over), asking the
# node at PORT; returns whether they were.
settled() {
  for _ in $(seq 1 900); do
    curl -s --max-time 5 "127.0.0.1:$1/v1/cluster" | python3 -c 'import json,sys; ps=json.load(sys.stdin)["partitions"]; sys.exit(0 if ps and all(p.get("primary") and p["primary"]==p.get("preferred") for p in ps) else 1)' 2>/dev/null && return 0
    sleep 0.2
  done
  return 1
}
