@testable import ProvisionerDomain

/// Realistic client_secrets.json files for the acme tenant, and ways to spoil them.
enum CredentialFixtures {
    static let clientID = "123456789012-abcdefghijklmnopqrstuvwxyz012345.apps.googleusercontent.com"
    static let secret = "GOCSPX-" + "AbCdEfGhIjKlMnOpQrStUvWx_-12"
    static let origin = "https://acme.crm.example.com"
    static let callback = "https://acme.crm.example.com/agcrm_google/AuthCallback/IndexAsync"
    static let myAccount = "https://myaccount.google.com/"

    static let issued = IssuedURISet(
        version: 1,
        host: "acme.crm.example.com",
        javascriptOrigins: [origin],
        redirectURIs: [callback, myAccount]
    )

    /// A field of the `web` section: absent, or written as raw JSON text.
    enum Field: Sendable {
        case absent
        case raw(String)

        static func string(_ value: String) -> Field { .raw(quoted(value)) }
        static func strings(_ values: [String]) -> Field { .raw("[" + values.map(quoted).joined(separator: ",") + "]") }
    }

    static func file(
        type: String = "web",
        clientID: Field = .string(clientID),
        projectID: Field = .string("all-gather-crm-google-calendar"),
        authURI: Field = .string("https://accounts.google.com/o/oauth2/auth"),
        tokenURI: Field = .string("https://oauth2.googleapis.com/token"),
        secret: Field = .string(secret),
        redirects: Field = .strings([callback, myAccount]),
        origins: Field = .strings([origin]),
        extraTopLevel: String? = nil
    ) -> [UInt8] {
        Array(text(type: type, clientID: clientID, projectID: projectID, authURI: authURI, tokenURI: tokenURI,
                   secret: secret, redirects: redirects, origins: origins, extraTopLevel: extraTopLevel).utf8)
    }

    static func text(
        type: String = "web",
        clientID: Field = .string(clientID),
        projectID: Field = .string("all-gather-crm-google-calendar"),
        authURI: Field = .string("https://accounts.google.com/o/oauth2/auth"),
        tokenURI: Field = .string("https://oauth2.googleapis.com/token"),
        secret: Field = .string(secret),
        redirects: Field = .strings([callback, myAccount]),
        origins: Field = .strings([origin]),
        extraTopLevel: String? = nil
    ) -> String {
        let fields: [(String, Field)] = [
            ("client_id", clientID),
            ("project_id", projectID),
            ("auth_uri", authURI),
            ("token_uri", tokenURI),
            ("auth_provider_x509_cert_url", .string("https://www.googleapis.com/oauth2/v1/certs")),
            ("client_secret", secret),
            ("redirect_uris", redirects),
            ("javascript_origins", origins),
        ]
        var members: [String] = []
        for (name, field) in fields {
            if case .raw(let json) = field { members.append("\(quoted(name)):\(json)") }
        }
        var top = "{\(quoted(type)):{\(members.joined(separator: ","))}"
        if let extraTopLevel { top += ",\(extraTopLevel)" }
        return top + "}"
    }

    static let cleanFileText = text()
    static let cleanFile = file()

    static func quoted(_ value: String) -> String {
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
