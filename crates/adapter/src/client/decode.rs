//! Error-body decoding: the message of an OpenStack error answer.

use serde_json::Value;

/// OpenStack's error text: Octavia's `faultstring`, Neutron's `NeutronError.message`, or the
/// body itself.
pub fn error_message(body: &Value) -> String {
    if let Some(s) = body.get("faultstring").and_then(Value::as_str) {
        return s.to_owned();
    }
    if let Some(s) = body
        .pointer("/NeutronError/message")
        .and_then(Value::as_str)
    {
        return s.to_owned();
    }
    if let Some(s) = body.pointer("/error/message").and_then(Value::as_str) {
        return s.to_owned();
    }
    let text = match body {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    text.chars().take(300).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_messages_come_from_octavia_and_neutron_bodies() {
        let octavia = serde_json::json!({"faultcode": "Client", "faultstring": "Invalid state PENDING_UPDATE of loadbalancer resource x", "debuginfo": null});
        assert_eq!(
            error_message(&octavia),
            "Invalid state PENDING_UPDATE of loadbalancer resource x"
        );
        let neutron = serde_json::json!({"NeutronError": {"type": "IpAddressGenerationFailure", "message": "No more IP addresses available on network n.", "detail": ""}});
        assert_eq!(
            error_message(&neutron),
            "No more IP addresses available on network n."
        );
        assert_eq!(error_message(&Value::Null), "");
    }
}
