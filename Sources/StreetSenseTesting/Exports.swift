import MosquittoBroker

/// Tests know the local broker as `TestBroker`; it is the same launcher `streetsense demo` uses.
public typealias TestBroker = LocalBroker
/// The error `TestBroker` throws.
public typealias TestBrokerError = LocalBrokerError
/// Free loopback ports for tests.
public typealias FreePort = MosquittoBroker.FreePort
