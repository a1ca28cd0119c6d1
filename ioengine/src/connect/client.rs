//! The network client: the volume's graph fetched from a volfile server
//! (`brick=`/`servers=`, tried reachable-first) or read from a custom
//! volfile, with the engine's tuning of the protocol/client, io-threads and
//! write-behind translators (`io_timeout`, `client_io_threads`,
//! `write_aggregation`).

use std::time::Duration;

use gfapi::{Fs, Teardown};

use super::server_order;
use crate::error::EngineError;
use crate::options::ConnSpec;

/// Connects to the volume of `spec` through glusterd or its volfile.
pub fn connect(spec: &ConnSpec) -> Result<Fs, EngineError> {
    let mut v = match &spec.volfile {
        Some(p) => gfapi::Volume::volfile(spec.volume.clone(), p),
        None => gfapi::Volume::new(spec.volume.clone()),
    };
    let probe = server_order::probe_timeout(spec.io_timeout);
    for s in server_order::reachable_first(&spec.servers, probe) {
        v = v.transport_server(s.transport, s.host, s.port);
    }
    if spec.io_timeout > 0 {
        // A hung server is dropped up to 2 ping-timeouts after it stops
        // answering (1.5-1.8 measured on 10.3): 40% keeps it within
        // io_timeout. Names are VOLUME-client-N in glusterd's and
        // glusterrs-cluster's volfiles.
        let ping = (spec.io_timeout * 2 / 5).max(1);
        v = v.xlator_option("*-client-*", "ping-timeout", ping.to_string());
        // A brick host that does not answer at all (down, cut off) otherwise holds
        // the connect for the kernel's SYN retries (~2 min), and the replicate or
        // disperse translator waits to hear from every brick before the graph
        // comes up: bound the connect (and unacknowledged sends) the same way.
        v = v.xlator_option("*-client-*", "transport.tcp-user-timeout", ping.to_string());
        // A server that accepts but never answers: give up connecting in
        // time for the whole failure to stay within io_timeout.
        let bound = Duration::from_secs(u64::from(spec.io_timeout)).mul_f64(0.8);
        v = v.init_timeout(bound.max(Duration::from_secs(2)));
    }
    if !spec.client_io_threads {
        // fio keeps iodepth requests in flight already: the io-threads hop
        // (a queue plus a worker wakeup per request) only adds CPU and
        // latency. Matches glusterd's VOLUME-io-threads; a no-op for graphs
        // without it (bypass-custom volfiles).
        v = v.xlator_option("*-io-threads", "pass-through", "true");
    }
    // GlusterFS 10.3's write-behind overruns its own heap after a brick
    // returns a short write (disk full): the retried request keeps its
    // aggregation buffer but its iov_base moved forward, and the next
    // sequential write is copied past the buffer's end (docs/faults.md,
    // "GlusterFS 10.3 write-behind"). With aggregate-size 0 no write is ever copied into
    // another's buffer; write-behind still acknowledges early and winds
    // each write on its own. A no-op for graphs without write-behind.
    if spec.write_aggregation_off {
        v = v.xlator_option("*-write-behind", "aggregate-size", "0");
    }
    let fs = v
        .log_file(&spec.logfile)
        .log_level(spec.loglevel)
        .init()
        .map_err(|e| {
            let errno = e.raw_os_error().unwrap_or(libc::EIO);
            EngineError::new(errno, format!("cannot connect to {spec}: {e}"))
        })?;
    fs.set_teardown(Teardown::SkipFini);
    Ok(fs)
}
