//! `Cluster`: three glusterd nodes in network namespaces on this machine, volumes
//! across them, node faults, and nothing left behind.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::Duration;

use glusterrs_cluster::{
    list_clusters, state_file, Cluster, ClusterSpec, ClusterVolumeSpec, Error, Layout,
};

/// Host-namespace things a node's glusterd must never touch.
fn host_fingerprint() -> (u64, String) {
    let sock = fs::metadata("/run/glusterd.socket")
        .map(|m| m.ino())
        .unwrap_or(0);
    let peers = fs::read_dir("/var/lib/glusterd/peers")
        .map(|d| d.count())
        .unwrap_or(0);
    let uuid = fs::read_to_string("/var/lib/glusterd/glusterd.info").unwrap_or_default();
    (sock, format!("{peers} peers, {uuid}"))
}

fn netns_list() -> String {
    String::from_utf8_lossy(
        &std::process::Command::new("ip")
            .args(["netns", "list"])
            .output()
            .unwrap()
            .stdout,
    )
    .into_owned()
}

#[test]
fn three_nodes_volumes_faults_and_teardown() {
    let host_before = host_fingerprint();
    let name = format!("ct{}", std::process::id());
    let c = Cluster::up(ClusterSpec::new(&name, 3)).expect("cluster up");
    assert!(state_file(&name).exists());
    assert!(list_clusters().contains(&name));

    // Each node: its own address, its own glusterd with its own UUID, all in one pool.
    let nodes = c.nodes();
    assert_eq!(nodes.len(), 3);
    let mut uuids = Vec::new();
    for n in &nodes {
        let pid = c.glusterd_pid(n.index).expect("glusterd runs");
        assert!(c.node_pids(n.index).unwrap().contains(&pid));
        let info = fs::read_to_string(n.dir.join("glusterd/glusterd.info")).unwrap();
        uuids.push(info);
        assert!(
            n.dir.join("run/glusterd.socket").exists(),
            "node {} has its own CLI socket",
            n.index
        );
        let pool = c.gluster_on(n.index, &["pool", "list"]).unwrap();
        for other in &nodes {
            if other.index != n.index {
                assert!(pool.contains(&other.ip.to_string()), "{pool}");
            }
        }
        assert_eq!(pool.matches("Connected").count(), 3, "{pool}");
    }
    uuids.sort();
    uuids.dedup();
    assert_eq!(uuids.len(), 3, "nodes share a UUID");
    assert_eq!(
        host_fingerprint(),
        host_before,
        "the host glusterd's files changed"
    );

    // Volumes of every layout, bricks spread over the nodes.
    for (spec, bricks) in [
        (ClusterVolumeSpec::replica(3), 3),
        (ClusterVolumeSpec::distributed_replica(2, 3), 6),
        (ClusterVolumeSpec::disperse(4, 2), 6),
    ] {
        let layout = spec.layout;
        let v = c
            .create_volume(spec.prefix("grs-ct"))
            .unwrap_or_else(|e| panic!("{layout:?}: {e}"));
        assert_eq!(v.bricks().len(), bricks);
        for (i, b) in v.bricks().iter().enumerate() {
            assert_eq!(b.node, i % 3 + 1);
            assert!(b.path.starts_with(nodes[b.node - 1].brick_root()));
            assert!(b.path.is_dir(), "brick visible from the host");
        }
        assert!(v.brick_status().unwrap().iter().all(|(_, up)| *up));
        let info = c.gluster(&["volume", "info", v.name()]).unwrap();
        let want = match layout {
            Layout::Disperse { .. } => "Disperse",
            Layout::Replica { sets: 1, .. } => "Replicate",
            _ => "Distributed-Replicate",
        };
        assert!(info.contains(&format!("Type: {want}")), "{info}");
        let paths: Vec<_> = v.bricks().iter().map(|b| b.path.clone()).collect();
        v.destroy().unwrap();
        assert!(paths.iter().all(|p| !p.exists()), "brick dirs left");
    }

    // A node crash and restart: bricks come back, heal info settles.
    let v = c
        .create_volume(ClusterVolumeSpec::replica(3).prefix("grs-ct"))
        .unwrap();
    c.kill_node(2).unwrap();
    assert!(c.node_pids(2).unwrap().is_empty());
    assert!(c.glusterd_pid(2).is_none());
    let st = v.brick_status().unwrap();
    assert!(!st[1].1 && st[0].1 && st[2].1, "{st:?}");
    c.start_node(2).unwrap();
    v.wait_online().unwrap();
    v.wait_healed(Duration::from_secs(60)).unwrap();
    assert_eq!(v.compare_replicas().unwrap(), 0);

    // A cut link: management on the cut node cannot reach its peers.
    c.link_down(3).unwrap();
    assert!(!c.link_is_up(3));
    c.link_up(3).unwrap();
    assert!(c.link_is_up(3));
    c.wait_peers(3).unwrap();

    // Bad input is refused before anything is made.
    let e = c
        .create_volume(ClusterVolumeSpec::disperse(2, 2))
        .unwrap_err();
    assert!(matches!(e, Error::Invalid { .. }), "{e}");
    let e = Cluster::up(ClusterSpec::new(&name, 3)).unwrap_err();
    assert!(e.to_string().contains("is up"), "{e}");
    let e = Cluster::up(ClusterSpec::new(format!("{name}b"), 2).subnet(c.subnet())).unwrap_err();
    assert!(e.to_string().contains("in use"), "{e}");

    // down: nothing left.
    let tree = nodes[0].dir.parent().unwrap().to_path_buf();
    let netns: Vec<String> = nodes.iter().map(|n| n.netns.clone()).collect();
    let veths: Vec<String> = nodes.iter().map(|n| n.veth.clone()).collect();
    drop(v);
    c.down().expect("down");
    assert!(!state_file(&name).exists());
    assert!(!tree.exists(), "{} left", tree.display());
    let ns = netns_list();
    for n in &netns {
        assert!(!ns.contains(n.as_str()), "netns {n} left: {ns}");
    }
    for v in &veths {
        assert!(!Path::new("/sys/class/net").join(v).exists(), "{v} left");
    }
    assert_eq!(host_fingerprint(), host_before);
}

/// An interrupt during `Cluster::up` (the CLI's Ctrl-C) stops it and removes what
/// was made.
#[test]
fn interrupted_up_rolls_back() {
    let name = format!("ci{}", std::process::id());
    let interrupt = glusterrs_cluster::Interrupt::new();
    let setter = {
        let i = interrupt.clone();
        let ns = format!("grsc-{name}-n2");
        std::thread::spawn(move || {
            let end = std::time::Instant::now() + Duration::from_secs(60);
            while !netns_list().contains(&ns) && std::time::Instant::now() < end {
                std::thread::sleep(Duration::from_millis(5));
            }
            i.set();
        })
    };
    let e = Cluster::up(ClusterSpec::new(&name, 3).interrupt(interrupt)).unwrap_err();
    setter.join().unwrap();
    assert!(matches!(e, Error::Interrupted { .. }), "{e}");
    assert!(!state_file(&name).exists(), "state file left");
    let ns = netns_list();
    assert!(!ns.contains(&format!("grsc-{name}-")), "netns left: {ns}");
    assert!(
        !Path::new(glusterrs_cluster::DEFAULT_ROOT)
            .join(&name)
            .exists(),
        "tree left"
    );
}
