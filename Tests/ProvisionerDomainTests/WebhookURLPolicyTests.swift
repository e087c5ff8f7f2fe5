import Testing
@testable import ProvisionerDomain

@Suite("Webhook URL policy")
struct WebhookURLPolicyTests {
    enum Policy: String, Sendable, CaseIterable {
        case strict, http, privateAllowed, both
        var value: WebhookURLPolicy {
            switch self {
            case .strict: WebhookURLPolicy()
            case .http: WebhookURLPolicy(allowHTTP: true)
            case .privateAllowed: WebhookURLPolicy(allowPrivate: true)
            case .both: WebhookURLPolicy(allowHTTP: true, allowPrivate: true)
            }
        }
    }

    enum Expected: Sendable, Hashable {
        case accepted(String)
        case refused(WebhookURLRefusal)
    }

    static func ok(_ text: String) -> Expected { .accepted(text) }
    static func literal(_ address: String, _ kind: WebhookAddressKind) -> Expected {
        .refused(.privateAddress(host: address, address: address, kind: kind))
    }
    static let invalid = Expected.refused(.malformed)
    static let long = "https://hooks.example.com/" + String(repeating: "a", count: 2048 - 26)

    static let table: [(String, Policy, Expected)] = [
        // Accepted, and how they are written.
        ("https://hooks.example.com/provisioner", .strict, ok("https://hooks.example.com/provisioner")),
        ("https://hooks.example.com", .strict, ok("https://hooks.example.com")),
        ("HTTPS://Hooks.EXAMPLE.com/Path?Q=1", .strict, ok("https://hooks.example.com/Path?Q=1")),
        ("https://hooks.example.com:8443/x", .strict, ok("https://hooks.example.com:8443/x")),
        ("https://hooks.example.com:443/x", .strict, ok("https://hooks.example.com:443/x")),
        ("https://hooks.example.com:08443/x", .strict, ok("https://hooks.example.com:8443/x")),
        ("https://hooks.example.com:/x", .strict, ok("https://hooks.example.com/x")),
        ("https://hooks.example.com./x", .strict, ok("https://hooks.example.com/x")),
        ("https://hooks.example.com/a/%41%2f?x=1&y=a/b?c;d=@:~", .strict, ok("https://hooks.example.com/a/%41%2f?x=1&y=a/b?c;d=@:~")),
        ("https://under_score.example.com/", .strict, ok("https://under_score.example.com/")),
        ("https://bücher.example/hook", .strict, ok("https://xn--bcher-kva.example/hook")),
        ("https://BÜCHER.example/hook", .strict, ok("https://xn--bcher-kva.example/hook")),
        ("https://例え.jp/", .strict, ok("https://xn--r8jz45g.jp/")),
        ("https://xn--bcher-kva.example/", .strict, ok("https://xn--bcher-kva.example/")),
        ("https://1.1.1.1/", .strict, ok("https://1.1.1.1/")),
        ("https://8.8.8.8:443/", .strict, ok("https://8.8.8.8:443/")),
        ("https://[2606:4700:4700::1111]/dns", .strict, ok("https://[2606:4700:4700::1111]/dns")),
        ("https://[2606:4700:4700:0:0:0:0:1111]:8443/", .strict, ok("https://[2606:4700:4700::1111]:8443/")),
        ("https://[2606:4700:4700::ABCD]/", .strict, ok("https://[2606:4700:4700::abcd]/")),
        // A name is not classified without DNS: `check` decides on what it resolves to.
        ("https://localhost/", .strict, ok("https://localhost/")),
        ("https://localhost:8080/hook", .strict, ok("https://localhost:8080/hook")),
        ("https://metadata.google.internal/", .strict, ok("https://metadata.google.internal/")),
        (long, .strict, ok(long)),
        // Scheme.
        ("http://hooks.example.com/", .strict, .refused(.schemeNotAllowed("http"))),
        ("http://hooks.example.com/", .http, ok("http://hooks.example.com/")),
        ("HTTP://Hooks.example.com", .both, ok("http://hooks.example.com")),
        ("ftp://hooks.example.com/", .both, .refused(.schemeNotAllowed("ftp"))),
        ("wss://hooks.example.com/", .strict, .refused(.schemeNotAllowed("wss"))),
        ("javascript:alert(1)", .strict, .refused(.schemeNotAllowed("javascript"))),
        ("file:///etc/passwd", .both, .refused(.schemeNotAllowed("file"))),
        ("https:hooks.example.com", .strict, invalid),
        // Userinfo and fragment.
        ("https://user:pass@hooks.example.com/", .strict, .refused(.userInfo)),
        ("https://user@hooks.example.com/", .strict, .refused(.userInfo)),
        ("https://@hooks.example.com/", .strict, .refused(.userInfo)),
        ("https://hooks.example.com%2F@evil.example/", .strict, .refused(.userInfo)),
        ("https://hooks.example.com/#frag", .strict, .refused(.fragment)),
        ("https://hooks.example.com/#", .strict, .refused(.fragment)),
        // Host missing, and text that is not a URL.
        ("https:///path", .strict, .refused(.hostMissing)),
        ("https://:443/", .strict, .refused(.hostMissing)),
        ("https://", .strict, .refused(.hostMissing)),
        ("", .strict, invalid),
        ("hooks.example.com/path", .strict, invalid),
        ("//hooks.example.com/", .strict, invalid),
        (" https://hooks.example.com/", .strict, invalid),
        ("https://hooks.example.com/a b", .strict, invalid),
        ("https://hooks.example.com/\t", .strict, invalid),
        ("https://hooks.example.com\\@evil.example/", .strict, invalid),
        ("https://hooks.example.com/%zz", .strict, invalid),
        ("https://hooks.example.com/%4", .strict, invalid),
        ("https://hooks.example.com/<script>", .strict, invalid),
        ("https://hooks.example.com/é", .strict, invalid),
        ("https://hooks..example.com/", .strict, invalid),
        ("https://ho%6Fks.example.com/", .strict, invalid),
        ("https://hooks!.example.com/", .strict, invalid),
        ("https://ｅｘａｍｐｌｅ.com/", .strict, invalid),
        ("https://xn--.example/", .strict, invalid),
        ("https://xn--abc-.example/", .strict, invalid),
        ("https://xn--bcher-kv.example/", .strict, invalid),
        ("https://xn--bcher-kva!.example/", .strict, invalid),
        ("https://" + String(repeating: "a", count: 64) + ".com/", .strict, invalid),
        ("https://" + Array(repeating: String(repeating: "a", count: 63), count: 4).joined(separator: ".") + ".com/", .strict, invalid),
        // Ports.
        ("https://hooks.example.com:0/", .strict, invalid),
        ("https://hooks.example.com:65536/", .strict, invalid),
        ("https://hooks.example.com:123456/", .strict, invalid),
        ("https://hooks.example.com:https/", .strict, invalid),
        ("https://hooks.example.com:-1/", .strict, invalid),
        // Numbers that are not addresses.
        ("https://1.2.3.256/", .strict, invalid),
        ("https://1.2.3.4.5/", .strict, invalid),
        ("https://example.123/", .strict, invalid),
        // IPv6 literals that cannot be used.
        ("https://[2606:4700:4700::1111/", .strict, invalid),
        ("https://[2606:4700::1111]x/", .strict, invalid),
        ("https://[fe80::1%25eth0]/", .strict, invalid),
        ("https://[v1.fe]/", .strict, invalid),
        ("https://[1.2.3.4]/", .strict, invalid),
        ("https://[::1::2]/", .strict, invalid),
        // Over-long.
        (long + "a", .strict, .refused(.tooLong)),
        ("https://" + String(repeating: "a", count: 100_000), .strict, .refused(.tooLong)),
        // IP literals that are not public, in every spelling.
        ("https://127.0.0.1/", .strict, literal("127.0.0.1", .loopback)),
        ("https://127.0.0.1:8443/hook", .strict, literal("127.0.0.1", .loopback)),
        ("https://127.1/", .strict, literal("127.0.0.1", .loopback)),
        ("https://0x7f.0.0.1/", .strict, literal("127.0.0.1", .loopback)),
        ("https://2130706433/", .strict, literal("127.0.0.1", .loopback)),
        ("https://017700000001/", .strict, literal("127.0.0.1", .loopback)),
        ("https://127.0.0.1./", .strict, literal("127.0.0.1", .loopback)),
        ("https://169.254.169.254/latest/meta-data/", .strict, literal("169.254.169.254", .linkLocal)),
        ("https://10.0.0.1/", .strict, literal("10.0.0.1", .private)),
        ("https://172.16.5.4/", .strict, literal("172.16.5.4", .private)),
        ("https://192.168.1.1:8080/", .strict, literal("192.168.1.1", .private)),
        ("https://100.64.0.1/", .strict, literal("100.64.0.1", .sharedAddressSpace)),
        ("https://0.0.0.0/", .strict, literal("0.0.0.0", .unspecified)),
        ("https://0/", .strict, literal("0.0.0.0", .unspecified)),
        ("https://255.255.255.255/", .strict, literal("255.255.255.255", .broadcast)),
        ("https://224.0.0.1/", .strict, literal("224.0.0.1", .multicast)),
        ("https://192.0.2.10/", .strict, literal("192.0.2.10", .documentation)),
        ("https://[::1]/", .strict, literal("::1", .loopback)),
        ("https://[0:0:0:0:0:0:0:1]/", .strict, literal("::1", .loopback)),
        ("https://[::]/", .strict, literal("::", .unspecified)),
        ("https://[::ffff:127.0.0.1]/", .strict, literal("::ffff:127.0.0.1", .loopback)),
        ("https://[::ffff:7f00:1]/", .strict, literal("::ffff:127.0.0.1", .loopback)),
        ("https://[::ffff:169.254.169.254]/", .strict, literal("::ffff:169.254.169.254", .linkLocal)),
        ("https://[::127.0.0.1]/", .strict, literal("::7f00:1", .loopback)),
        ("https://[64:ff9b::a9fe:a9fe]/", .strict, literal("64:ff9b::a9fe:a9fe", .linkLocal)),
        ("https://[2002:7f00:1::]/", .strict, literal("2002:7f00:1::", .loopback)),
        ("https://[fd00::1]/", .strict, literal("fd00::1", .private)),
        ("https://[FE80::1]/", .strict, literal("fe80::1", .linkLocal)),
        ("https://[ff02::1]/", .strict, literal("ff02::1", .multicast)),
        ("https://[2001:db8::1]/", .strict, literal("2001:db8::1", .documentation)),
        // allowPrivate lets them through.
        ("https://127.0.0.1:8443/hook", .privateAllowed, ok("https://127.0.0.1:8443/hook")),
        ("https://[::1]:8443/", .privateAllowed, ok("https://[::1]:8443/")),
        ("https://[fd00::1]/", .privateAllowed, ok("https://[fd00::1]/")),
        ("https://169.254.169.254/", .privateAllowed, ok("https://169.254.169.254/")),
        ("http://127.0.0.1:8080/", .privateAllowed, .refused(.schemeNotAllowed("http"))),
        ("http://127.0.0.1:8080/", .both, ok("http://127.0.0.1:8080/")),
        ("http://localhost:8080/", .both, ok("http://localhost:8080/")),
    ]

    @Test("parse", arguments: table)
    func parse(text: String, policy: Policy, expected: Expected) {
        let outcome: Expected
        do {
            outcome = .accepted(try policy.value.parse(text).text)
        } catch {
            outcome = .refused(error)
        }
        #expect(outcome == expected)
    }

    @Test("an accepted URL is parsed the same again (normal form is stable)", arguments: table)
    func idempotent(text: String, policy: Policy, expected: Expected) throws {
        guard case .accepted(let normal) = expected else { return }
        let url = try policy.value.parse(normal)
        #expect(url.text == normal)
        #expect(try policy.value.parse(text) == url)
    }

    @Test("components", arguments: [
        ("https://Hooks.Example.com/x", "https", "hooks.example.com", 443, nil),
        ("https://hooks.example.com:8443", "https", "hooks.example.com", 8443, nil),
        ("http://hooks.example.com", "http", "hooks.example.com", 80, nil),
        ("https://1.1.1.1:444/", "https", "1.1.1.1", 444, [1, 1, 1, 1]),
        ("https://[2606:4700:4700::1111]/", "https", "2606:4700:4700::1111", 443,
         [0x26, 0x06, 0x47, 0x00, 0x47, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0x11, 0x11]),
        ("https://[::1]:8443/", "https", "::1", 8443, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
        ("https://例え.jp/", "https", "xn--r8jz45g.jp", 443, nil),
    ] as [(String, String, String, Int, [UInt8]?)])
    func components(text: String, scheme: String, host: String, port: Int, address: [UInt8]?) throws {
        let url = try WebhookURLPolicy(allowHTTP: true, allowPrivate: true).parse(text)
        #expect(url.scheme == scheme)
        #expect(url.host == host)
        #expect(url.port == port)
        #expect(url.hostAddress == address)
    }

    @Test("after DNS: every address must be public; none is unresolvable")
    func check() throws {
        let strict = WebhookURLPolicy()
        let name = try strict.parse("https://hooks.example.com/x")
        try strict.check(name, resolved: [[93, 184, 216, 34]])
        try strict.check(name, resolved: [[93, 184, 216, 34], [0x26, 0x06, 0x28, 0, 0x02, 0x20, 0, 1, 0x2, 0x48, 0x18, 0x93, 0x25, 0xc8, 0x19, 0x46]])
        #expect(throws: WebhookURLRefusal.privateAddress(host: "hooks.example.com", address: "10.1.2.3", kind: .private)) {
            try strict.check(name, resolved: [[93, 184, 216, 34], [10, 1, 2, 3]])
        }
        #expect(throws: WebhookURLRefusal.unresolvable(host: "hooks.example.com")) { try strict.check(name, resolved: []) }
        let localhost = try strict.parse("https://localhost:8080/hook")
        #expect(throws: WebhookURLRefusal.privateAddress(host: "localhost", address: "127.0.0.1", kind: .loopback)) {
            try strict.check(localhost, resolved: [[127, 0, 0, 1]])
        }
        let mapped: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 10, 0, 0, 1]
        #expect(throws: WebhookURLRefusal.privateAddress(host: "hooks.example.com", address: "::ffff:10.0.0.1", kind: .private)) {
            try strict.check(name, resolved: [mapped])
        }
        #expect(throws: WebhookURLRefusal.privateAddress(host: "hooks.example.com", address: "1.2.3", kind: .reserved)) {
            try strict.check(name, resolved: [[1, 2, 3]])
        }
        // An IP literal needs no DNS; its own address is still checked.
        try strict.check(try strict.parse("https://1.1.1.1/"), resolved: [])
        let permissive = WebhookURLPolicy(allowPrivate: true)
        let literal = try permissive.parse("https://127.0.0.1/")
        try permissive.check(literal, resolved: [])
        #expect(throws: WebhookURLRefusal.privateAddress(host: "127.0.0.1", address: "127.0.0.1", kind: .loopback)) {
            try strict.check(literal, resolved: [])
        }
        try permissive.check(localhost, resolved: [[127, 0, 0, 1], mapped])
        #expect(throws: WebhookURLRefusal.unresolvable(host: "localhost")) { try permissive.check(localhost, resolved: []) }
    }

    @Test("codes and details", arguments: [
        (WebhookURLRefusal.malformed, "webhook_url_invalid", "not a valid absolute URL"),
        (.tooLong, "webhook_url_invalid", "longer than 2048 bytes"),
        (.userInfo, "webhook_url_invalid", "user name or password"),
        (.fragment, "webhook_url_invalid", "fragment"),
        (.hostMissing, "webhook_url_invalid", "no host"),
        (.schemeNotAllowed("ftp"), "webhook_url_scheme", "scheme \"ftp\""),
        (.privateAddress(host: "127.0.0.1", address: "127.0.0.1", kind: .loopback), "webhook_url_private", "host 127.0.0.1 is a loopback address"),
        (.privateAddress(host: "internal.example", address: "10.0.0.1", kind: .private), "webhook_url_private",
         "host internal.example resolves to 10.0.0.1, a private network address"),
        (.privateAddress(host: "169.254.169.254", address: "169.254.169.254", kind: .linkLocal), "webhook_url_private", "metadata"),
        (.unresolvable(host: "nowhere.example"), "webhook_url_unresolvable", "nowhere.example does not resolve"),
    ])
    func codes(refusal: WebhookURLRefusal, code: String, phrase: String) {
        #expect(refusal.code == code)
        #expect(refusal.detail.contains(phrase), "\(refusal.detail)")
        #expect(refusal.detail.hasPrefix("The webhook URL") && refusal.detail.hasSuffix("."))
        #expect("\(refusal)".contains(code))
    }
}

@Suite("Webhook address classification")
struct WebhookAddressKindTests {
    static func bytes(_ text: String) -> [UInt8] {
        if text.contains(":") {
            return IPAddressLiteral.parseIPv6(Substring(text)).map(WebhookAddressText.bytes(ofGroups:)) ?? []
        }
        return IPAddressLiteral.parseIPv4(text).map(WebhookAddressText.bytes(ofIPv4:)) ?? []
    }

    @Test("classify", arguments: [
        ("1.1.1.1", WebhookAddressKind.public), ("8.8.8.8", .public), ("93.184.216.34", .public),
        ("9.255.255.255", .public), ("11.0.0.0", .public), ("100.63.255.255", .public), ("100.128.0.0", .public),
        ("172.15.255.255", .public), ("172.32.0.0", .public), ("192.167.255.255", .public), ("192.169.0.0", .public),
        ("169.253.255.255", .public), ("198.17.255.255", .public), ("198.20.0.0", .public), ("223.255.255.255", .public),
        ("0.0.0.0", .unspecified), ("0.1.2.3", .unspecified),
        ("10.0.0.0", .private), ("10.255.255.255", .private), ("172.16.0.0", .private), ("172.31.255.255", .private),
        ("192.168.0.1", .private),
        ("100.64.0.0", .sharedAddressSpace), ("100.127.255.255", .sharedAddressSpace),
        ("127.0.0.1", .loopback), ("127.255.255.254", .loopback),
        ("169.254.0.1", .linkLocal), ("169.254.169.254", .linkLocal),
        ("192.0.0.8", .reserved), ("192.88.99.1", .reserved), ("240.0.0.1", .reserved), ("255.255.255.254", .reserved),
        ("192.0.2.1", .documentation), ("198.51.100.7", .documentation), ("203.0.113.200", .documentation),
        ("198.18.0.1", .benchmarking), ("198.19.255.255", .benchmarking),
        ("224.0.0.251", .multicast), ("239.255.255.250", .multicast),
        ("255.255.255.255", .broadcast),
        ("2606:4700:4700::1111", .public), ("2a00:1450:4001::200e", .public), ("2001:4860:4860::8888", .public),
        ("2001:200::1", .public), ("3ffe::1", .public),
        ("::", .unspecified), ("::1", .loopback),
        ("::ffff:127.0.0.1", .loopback), ("::ffff:10.1.1.1", .private), ("::ffff:8.8.8.8", .public),
        ("::ffff:169.254.169.254", .linkLocal), ("::ffff:0:127.0.0.1", .loopback),
        ("::127.0.0.1", .loopback), ("::8.8.8.8", .public), ("::2", .unspecified),
        ("64:ff9b::7f00:1", .loopback), ("64:ff9b::808:808", .public), ("64:ff9b:1::1", .private), ("64:ff9b:0:1::1", .reserved),
        ("2002:0a00:0001::1", .private), ("2002:0808:0808::1", .public),
        ("fc00::1", .private), ("fd12:3456::1", .private), ("fec0::1", .private),
        ("fe80::1", .linkLocal), ("febf::1", .linkLocal),
        ("ff02::1", .multicast), ("ff05::1:3", .multicast),
        ("2001:db8::1", .documentation), ("3fff::1", .documentation), ("3fff:fff::1", .documentation),
        ("2001::1", .reserved), ("2001:0:4136:e378:8000:63bf:3fff:fdd2", .reserved), ("100::1", .reserved),
        ("4000::1", .reserved), ("1::1", .reserved),
    ])
    func classify(text: String, kind: WebhookAddressKind) {
        let bytes = Self.bytes(text)
        #expect(bytes.count == (text.contains(":") ? 16 : 4))
        #expect(WebhookAddressKind.classify(bytes) == kind)
        #expect(kind.isAllowedWithoutOptIn == (kind == .public))
    }

    @Test("odd byte counts are reserved", arguments: [[], [1], [1, 2, 3], [1, 2, 3, 4, 5], Array(repeating: 1, count: 15), Array(repeating: 1, count: 17)] as [[UInt8]])
    func oddLengths(bytes: [UInt8]) {
        #expect(WebhookAddressKind.classify(bytes) == .reserved)
    }

    @Test("raw values are snake_case problem details")
    func rawValues() {
        #expect(WebhookAddressKind.linkLocal.rawValue == "link_local")
        #expect(WebhookAddressKind.sharedAddressSpace.rawValue == "shared_address_space")
        #expect(WebhookAddressKind.public.rawValue == "public")
        #expect(WebhookAddressKind.allCases.filter(\.isAllowedWithoutOptIn) == [.public])
    }

    @Test("RFC 5952 text", arguments: [
        ("2606:4700:4700:0:0:0:0:1111", "2606:4700:4700::1111"), ("0:0:0:0:0:0:0:0", "::"), ("0:0:0:0:0:0:0:1", "::1"),
        ("1:0:0:2:0:0:0:3", "1:0:0:2::3"), ("1:0:2:3:4:5:6:7", "1:0:2:3:4:5:6:7"), ("1:2:3:4:5:6:7:0", "1:2:3:4:5:6:7:0"),
        ("1:0:0:2:2:0:0:3", "1::2:2:0:0:3"), ("FE80:0000::0001", "fe80::1"), ("::ffff:7f00:1", "::ffff:127.0.0.1"),
        ("1:2:3:4:5:6::", "1:2:3:4:5:6::"),
    ])
    func text(input: String, output: String) {
        #expect(WebhookAddressText.format(Self.bytes(input)) == output)
    }
}
