//! When each request of an open-loop run is due.
//!
//! As in wrk2, the schedule is fixed before the run starts: request `i` is due at
//! `start + i / rate`, whatever happened to the requests before it. Requests are dealt to the
//! connections in turn, so connection `c` of `C` sends requests `c`, `c + C`, `c + 2C`, … A
//! request that goes out late, because its connection was still waiting for an earlier answer,
//! has its latency measured from when it was *due*: the wait is part of what a user would have
//! seen (coordinated omission corrected).

use std::time::Duration;

/// The open-loop schedule of one connection.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Schedule {
    /// Requests per second, all connections together.
    rate: f64,
    /// This connection's index among all connections.
    connection: u64,
    /// All connections of the run (over all threads).
    connections: u64,
}

impl Schedule {
    /// The schedule of connection `connection` of `connections` for a run at `rate` requests
    /// per second in total. `rate` must be positive and finite; `connections` at least 1.
    pub fn new(rate: f64, connection: u64, connections: u64) -> Self {
        Self {
            rate,
            connection,
            connections: connections.max(1),
        }
    }

    /// When this connection's `k`-th request (from 0) is due, counted from the start.
    pub fn due(&self, k: u64) -> Duration {
        let index = k * self.connections + self.connection;
        // f64 keeps the offset exact to well under a microsecond for any run of realistic length.
        Duration::from_secs_f64(index as f64 / self.rate)
    }

    /// How many of this connection's requests are due before `end` (counted from the start).
    pub fn count_before(&self, end: Duration) -> u64 {
        let total = (end.as_secs_f64() * self.rate).ceil() as u64;
        total
            .saturating_sub(self.connection)
            .div_ceil(self.connections)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_dealt_to_connections_in_turn() {
        // 1,000 req/s over 4 connections: one request every millisecond, overall.
        let schedules: Vec<Schedule> = (0..4).map(|c| Schedule::new(1000.0, c, 4)).collect();
        let mut all: Vec<Duration> = schedules
            .iter()
            .flat_map(|s| (0..25).map(|k| s.due(k)))
            .collect();
        all.sort();
        for (i, due) in all.iter().enumerate() {
            assert_eq!(*due, Duration::from_millis(i as u64), "request {i}");
        }
        assert_eq!(schedules[1].due(0), Duration::from_millis(1));
        assert_eq!(schedules[1].due(1), Duration::from_millis(5));
    }

    #[test]
    fn due_times_do_not_drift_over_long_runs() {
        let s = Schedule::new(3.0, 0, 1);
        let due = s.due(3 * 3600);
        assert!((due.as_secs_f64() - 3600.0).abs() < 1e-6, "{due:?}");
    }

    #[test]
    fn counts_add_up_to_rate_times_duration() {
        for connections in [1, 3, 7, 64] {
            let total: u64 = (0..connections)
                .map(|c| Schedule::new(1000.0, c, connections).count_before(Duration::from_secs(2)))
                .sum();
            assert_eq!(total, 2000, "{connections} connections");
        }
    }
}
