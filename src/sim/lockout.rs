//! The web-UI lockout of UC Software 5.5+ (`httpd.cfg.lockWebUI.*`): wrong passwords counted in a sliding window,
//! the last attempt before the lock announced, then a lock that every attempt reports without extending.
//! Pure logic over phone-time seconds, so it is tested without a clock.

use crate::profile::Lockout;

/// What a login attempt is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Success,
    Invalid,
    OneAttemptLeft,
    /// This attempt locked the UI for that many seconds.
    LockedFor(u64),
    /// The UI is locked; that many seconds remain (rounded up).
    Locked(u64),
}

/// Lockout state of one phone.
#[derive(Debug, Clone, Default)]
pub struct LockoutState {
    /// Times (phone seconds) of wrong attempts still inside the window.
    failures: Vec<f64>,
    /// Phone time the lock ends, while locked.
    locked_until: Option<f64>,
}

impl LockoutState {
    /// Judge an attempt at phone time `now` whose password was `right`.
    pub fn attempt(&mut self, policy: &Lockout, now: f64, right: bool) -> Verdict {
        if !policy.enabled {
            return if right {
                Verdict::Success
            } else {
                Verdict::Invalid
            };
        }
        if let Some(until) = self.locked_until {
            if now < until {
                return Verdict::Locked((until - now).ceil().max(1.0) as u64);
            }
            self.locked_until = None;
            self.failures.clear();
        }
        if right {
            self.failures.clear();
            return Verdict::Success;
        }
        let window = policy.window_secs as f64;
        self.failures.retain(|t| now - t < window);
        self.failures.push(now);
        let n = self.failures.len() as u32;
        if n >= policy.attempts {
            self.locked_until = Some(now + policy.lock_secs as f64);
            self.failures.clear();
            Verdict::LockedFor(policy.lock_secs)
        } else if n + 1 == policy.attempts {
            Verdict::OneAttemptLeft
        } else {
            Verdict::Invalid
        }
    }

    /// Seconds of lock left at `now`, if locked.
    pub fn locked_for(&self, now: f64) -> Option<u64> {
        self.locked_until
            .filter(|u| now < *u)
            .map(|u| (u - now).ceil().max(1.0) as u64)
    }

    /// Wrong attempts currently counted.
    pub fn failures(&self) -> usize {
        self.failures.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Lockout {
        Lockout {
            enabled: true,
            attempts: 5,
            window_secs: 60,
            lock_secs: 60,
            locked_status: 403,
        }
    }

    /// With the defaults, attempts 1–3 are invalid, the 4th leaves one, the 5th locks for 60 s.
    #[test]
    fn five_wrong_attempts_lock_the_ui() {
        let mut s = LockoutState::default();
        let p = policy();
        let got: Vec<Verdict> = (0..5).map(|i| s.attempt(&p, i as f64, false)).collect();
        use Verdict::*;
        assert_eq!(
            got,
            [Invalid, Invalid, Invalid, OneAttemptLeft, LockedFor(60)]
        );
    }

    /// While locked even the right password is refused, and asking does not extend the lock.
    #[test]
    fn locked_refuses_right_password_without_extending() {
        let mut s = LockoutState::default();
        let p = policy();
        for i in 0..5 {
            s.attempt(&p, i as f64, false);
        }
        assert_eq!(s.attempt(&p, 10.0, true), Verdict::Locked(54));
        assert_eq!(s.attempt(&p, 63.5, true), Verdict::Locked(1));
        assert_eq!(s.attempt(&p, 64.0, true), Verdict::Success);
    }

    /// Wrong attempts older than the window no longer count.
    #[test]
    fn window_slides() {
        let mut s = LockoutState::default();
        let p = policy();
        for i in 0..4 {
            s.attempt(&p, i as f64 * 30.0, false);
        }
        // at t=90 only the attempts at 60 and 90 (and 30? no: 90-30=60, outside) count
        assert_eq!(s.failures(), 2);
    }

    /// A right password clears the count.
    #[test]
    fn success_clears_failures() {
        let mut s = LockoutState::default();
        let p = policy();
        for i in 0..3 {
            s.attempt(&p, i as f64, false);
        }
        assert_eq!(s.attempt(&p, 4.0, true), Verdict::Success);
        assert_eq!(s.attempt(&p, 5.0, false), Verdict::Invalid);
    }

    /// A phone without the lockout feature never locks.
    #[test]
    fn disabled_never_locks() {
        let mut s = LockoutState::default();
        let p = Lockout {
            enabled: false,
            ..policy()
        };
        for i in 0..50 {
            assert_eq!(s.attempt(&p, i as f64, false), Verdict::Invalid);
        }
    }
}
