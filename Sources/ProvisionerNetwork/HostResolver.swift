#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore
import NIOPosix

/// Resolves a host name to the addresses a connection to it could reach.
///
/// Webhook URLs are checked against their addresses (never loopback, private or link-local
/// unless allowed) when they are registered and again before each delivery, since a name may
/// resolve elsewhere later. Tests give a resolver of their own.
public protocol HostResolver: Sendable {
    /// The IPv4 (4 bytes) and IPv6 (16 bytes) addresses of `host`, without duplicates; empty
    /// when the name does not resolve. Throws `HostResolutionTimeout` when the answer takes
    /// longer than the resolver's limit.
    func addresses(of host: String) async throws -> [[UInt8]]
}

public struct HostResolutionTimeout: Error, Sendable, CustomStringConvertible {
    public let host: String

    public init(host: String) {
        self.host = host
    }

    public var description: String { "resolving '\(host)' took too long" }
}

/// The system's resolver (`getaddrinfo`: /etc/hosts, then DNS), called on NIO's blocking
/// thread pool so that no task thread waits on it, and given up on after `timeout` (the
/// lookup itself cannot be cancelled; it ends on its own within the system's resolver
/// timeouts).
public struct SystemHostResolver: HostResolver {
    public var timeout: Duration

    public init(timeout: Duration = .seconds(3)) {
        self.timeout = timeout
    }

    public func addresses(of host: String) async throws -> [[UInt8]] {
        let timeout = self.timeout
        return try await withThrowingTaskGroup(of: [[UInt8]]?.self) { group in
            group.addTask {
                try await NIOThreadPool.singleton.runIfActive { Self.lookUp(host) }
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let addresses = first else {
                throw HostResolutionTimeout(host: host)
            }
            return addresses
        }
    }

    /// Blocking: every address `getaddrinfo` gives for TCP, in its order, without duplicates.
    static func lookUp(_ host: String) -> [[UInt8]] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
        hints.ai_socktype = SOCK_STREAM
        #endif
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &list) == 0, let first = list else { return [] }
        defer { freeaddrinfo(first) }
        var found: [[UInt8]] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let entry = cursor {
            if let address = entry.pointee.ai_addr {
                let bytes: [UInt8]?
                switch Int32(address.pointee.sa_family) {
                case AF_INET:
                    bytes = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { ipv4 in
                        withUnsafeBytes(of: ipv4.pointee.sin_addr) { Array($0) }
                    }
                case AF_INET6:
                    bytes = address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { ipv6 in
                        withUnsafeBytes(of: ipv6.pointee.sin6_addr) { Array($0) }
                    }
                default:
                    bytes = nil
                }
                if let bytes, !found.contains(bytes) { found.append(bytes) }
            }
            cursor = entry.pointee.ai_next
        }
        return found
    }
}

/// Answers from a table: for tests, and for hosts that must not reach DNS.
public struct FixedHostResolver: HostResolver {
    public var table: [String: [[UInt8]]]

    public init(_ table: [String: [[UInt8]]]) {
        self.table = table
    }

    public func addresses(of host: String) async throws -> [[UInt8]] {
        table[host.lowercased()] ?? []
    }
}
