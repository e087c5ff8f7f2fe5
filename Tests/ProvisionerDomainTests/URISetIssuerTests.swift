import Testing
@testable import ProvisionerDomain

@Suite("Issuing URI sets")
struct URISetIssuerTests {
    static let issuer = try! URISetIssuer(cloudDomain: "crm.example.com")

    @Test("cloud tenants get {slug}.{cloud domain}", arguments: ["acme", "tenant-2024", "x9y"])
    func cloud(_ slugText: String) throws {
        let slug = try TenantSlug(validating: slugText)
        let issued = try Self.issuer.issue(slug: slug, customDomain: nil)
        let host = "\(slugText).crm.example.com"
        #expect(issued.host == host)
        #expect(issued.customDomain == nil)
        #expect(issued.javascriptOrigins == ["https://\(host)"])
        #expect(issued.redirectURIs == [
            "https://\(host)/agcrm_google/AuthCallback/IndexAsync",
            "https://myaccount.google.com/",
        ])
        let set = issued.uriSet(version: 3)
        #expect(set == IssuedURISet(version: 3, host: host, javascriptOrigins: issued.javascriptOrigins, redirectURIs: issued.redirectURIs))
        for origin in issued.javascriptOrigins {
            #expect(GoogleURIRules.violations(of: origin, kind: .javascriptOrigin).isEmpty)
        }
        for redirect in issued.redirectURIs {
            #expect(GoogleURIRules.violations(of: redirect, kind: .redirectURI).isEmpty)
        }
    }

    @Test("custom domains are validated and normalised", arguments: [
        ("crm.acme.co.jp", "crm.acme.co.jp"),
        ("CRM.Acme.co.jp", "crm.acme.co.jp"),
        ("例え.jp", "xn--r8jz45g.jp"),
        ("crm.bücher.de", "crm.xn--bcher-kva.de"),
        ("ｃｒｍ．ａｃｍｅ．ｊｐ", "crm.acme.jp"),
    ])
    func custom(input: String, host: String) throws {
        let issued = try Self.issuer.issue(slug: TenantSlug(validating: "acme"), customDomain: input)
        #expect(issued.host == host)
        #expect(issued.customDomain == host)
        #expect(issued.javascriptOrigins == ["https://\(host)"])
        #expect(issued.redirectURIs == ["https://\(host)/agcrm_google/AuthCallback/IndexAsync", "https://myaccount.google.com/"])
    }

    @Test("rejected custom domains name their rule", arguments: [
        ("https://crm.acme.co.jp", "scheme_present"),
        ("crm.acme.co.jp:8443", "port_present"),
        ("crm.acme.co.jp/agcrm_google", "path_present"),
        ("admin@crm.acme.co.jp", "userinfo_present"),
        ("*.acme.co.jp", "wildcard_present"),
        ("203.0.113.10", "ip_address"),
        ("[2001:db8::1]", "ip_address"),
        ("crm.acme.co.jp.", "trailing_dot"),
        ("crm_acme.co.jp", "not_a_host_name"),
        (String(repeating: "a", count: 64) + ".jp", "label_too_long"),
        ("crm.acme.intranet", "top_level_domain_unknown"),
        ("crm", "single_label"),
        ("co.jp", "public_suffix"),
        ("googleusercontent.com", "googleusercontent_host"),
        ("crm.googleusercontent.com", "googleusercontent_host"),
        ("crm.example.com", "under_cloud_domain"),
        ("other.crm.example.com", "under_cloud_domain"),
        ("OTHER.CRM.example.com", "under_cloud_domain"),
    ])
    func rejected(input: String, rule: String) throws {
        let slug = try TenantSlug(validating: "acme")
        do {
            let issued = try Self.issuer.issue(slug: slug, customDomain: input)
            Issue.record("issued \(issued) for \(input)")
        } catch {
            #expect(error.rule == rule)
            #expect(!error.message(in: .ja).isEmpty)
            #expect(!error.message(in: .en).isEmpty)
            if rule == "googleusercontent_host" {
                #expect(error.value.hasPrefix("https://"), "the refused issued value is named")
            } else {
                #expect(error.value == input)
            }
        }
    }

    @Test("a bad cloud domain is refused at start-up", arguments: [
        ("", "empty"),
        ("https://crm.example.com", "scheme_present"),
        ("crm.example.com:8080", "port_present"),
        ("localhost", "single_label"),
        ("crm.example.internal", "top_level_domain_unknown"),
        ("10.0.0.1", "ip_address"),
        ("co.jp", "public_suffix"),
    ])
    func badCloudDomain(input: String, rule: String) {
        #expect(throws: URIIssuanceError.self) { try URISetIssuer(cloudDomain: input) }
        do {
            _ = try URISetIssuer(cloudDomain: input)
        } catch {
            #expect(error.rule == rule)
        }
    }

    @Test("the cloud domain is normalised like a custom domain")
    func cloudNormalised() throws {
        let issuer = try URISetIssuer(cloudDomain: "CRM.Example.COM")
        #expect(issuer.cloudDomain.name == "crm.example.com")
        let issued = try issuer.issue(slug: TenantSlug(validating: "acme"), customDomain: nil)
        #expect(issued.host == "acme.crm.example.com")
    }

    @Test("a host over 253 characters is refused")
    func tooLong() throws {
        let cloud = (0..<4).map { _ in String(repeating: "c", count: 60) }.joined(separator: ".") + ".com"
        let issuer = try URISetIssuer(cloudDomain: cloud)
        #expect(throws: URIIssuanceError.self) {
            try issuer.issue(slug: TenantSlug(validating: String(repeating: "a", count: 63)), customDomain: nil)
        }
        #expect(try issuer.issue(slug: TenantSlug(validating: "acme"), customDomain: nil).host == "acme." + cloud)
    }
}
