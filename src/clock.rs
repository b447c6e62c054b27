//! Phone time, shared by the simulator and the agent. Every duration in a profile is in seconds of phone time;
//! simulated phones divide them by the time scale, so with `--time-scale 180` a 3-minute reboot takes one second,
//! and an agent talking to them scales its own waits alike. Built on `tokio::time`, so tests may pause time.

use std::time::Duration;

use tokio::time::Instant;

/// Converts between phone time and wall time.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    scale: f64,
}

impl Clock {
    /// `scale` > 0: how many phone seconds pass per wall second.
    pub fn new(scale: f64) -> Clock {
        Clock {
            scale: if scale.is_finite() && scale > 0.0 {
                scale
            } else {
                1.0
            },
        }
    }

    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// Wall duration of `secs` phone seconds.
    pub fn wall(&self, secs: f64) -> Duration {
        Duration::from_secs_f64((secs / self.scale).max(0.0))
    }

    /// Sleep for `secs` phone seconds.
    pub async fn sleep(&self, secs: f64) {
        tokio::time::sleep(self.wall(secs)).await;
    }

    /// Phone seconds elapsed since `since`.
    pub fn since(&self, since: Instant) -> f64 {
        since.elapsed().as_secs_f64() * self.scale
    }

    pub fn now(&self) -> Instant {
        Instant::now()
    }
}
