import MosquittoBroker
import Testing

/// Every test that starts a real mosquitto lives in a suite nested in this one, so that they run one at
/// a time: each binds its own loopback port, but running brokers and message floods side by side on a
/// 2-core machine would make the timing-bound tests flaky.
@Suite(.serialized)
struct BrokerTests {}
