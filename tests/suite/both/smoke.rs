use crate::common;
use common::Env;

#[test]
fn sms_codes_reach_the_outbox_and_each_works_once() {
    let env = Env::new();
    env.enroll_mobile("alice", "(507) 222-5999");
    env.ok(&["issue-codes", "alice"]);
    let codes = env.last_sms_codes();
    assert_eq!(codes.len(), 10);
    for c in &codes {
        assert_eq!(env.verify("alice", c), 0, "{c} should be accepted once");
        assert_eq!(env.verify("alice", c), 1, "{c} should be spent");
    }
}
