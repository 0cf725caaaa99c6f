//! The health monitor: its keys, their defaults and the rules across them.

use super::cx::{Cx, IntVal, Val, int_u8, int_u32};
use crate::error::WarningReason;
use crate::keys::{self};
use crate::spec::{Defaults, MonitorSpec};
use crate::values::{Flag, Retries, Seconds};

impl Cx<'_> {
    pub(super) fn monitor(&mut self, local: bool, defaults: &Defaults) -> Option<MonitorSpec> {
        let enable = self.get::<Flag>(keys::ENABLE_HEALTH_MONITOR);
        let delay = self.get::<Seconds>(keys::HEALTH_MONITOR_DELAY);
        let timeout = self.get::<Seconds>(keys::HEALTH_MONITOR_TIMEOUT);
        let retries = self.get::<Retries>(keys::HEALTH_MONITOR_MAX_RETRIES);
        let retries_down = self.get::<Retries>(keys::HEALTH_MONITOR_MAX_RETRIES_DOWN);
        let on = match (local, &enable) {
            (true, Val::Given(Flag(false))) => {
                self.warn(
                    keys::ENABLE_HEALTH_MONITOR,
                    WarningReason::HealthMonitorDisabled,
                    "health monitor disabled on a Service with externalTrafficPolicy: Local: \
                     traffic will be dropped on nodes without endpoints",
                );
                false
            }
            (true, _) => true,
            (false, Val::Given(Flag(on))) => *on,
            (false, Val::Absent | Val::Invalid) => defaults.create_monitor,
        };
        let m = defaults.monitor;
        let explicit = delay.is_given() || timeout.is_given();
        let delay_given = delay.is_given();
        let timeout_given = timeout.is_given();
        let delay = delay.map_known(m.delay.into());
        let timeout = timeout.map_known(m.timeout.into());
        if let (true, Some(d), Some(t)) = (explicit, delay, timeout)
            && t >= d
        {
            if timeout_given {
                let raw = self.raw(keys::HEALTH_MONITOR_TIMEOUT);
                self.err(
                    keys::HEALTH_MONITOR_TIMEOUT,
                    raw,
                    format!("must be less than health-monitor-delay ({d})"),
                );
            } else if delay_given {
                let raw = self.raw(keys::HEALTH_MONITOR_DELAY);
                self.err(
                    keys::HEALTH_MONITOR_DELAY,
                    raw,
                    format!("must be greater than health-monitor-timeout ({t})"),
                );
            }
        }
        on.then(|| MonitorSpec {
            delay: delay.map_or(m.delay, int_u32),
            timeout: timeout.map_or(m.timeout, int_u32),
            max_retries: int_u8(retries.map_get(m.max_retries.into())),
            max_retries_down: int_u8(retries_down.map_get(m.max_retries_down.into())),
        })
    }
}
