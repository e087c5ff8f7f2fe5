import Crypto
import Foundation
import Hummingbird
import Mustache
import ProvisionerDomain

/// The console's templates (compiled into the binary) and the answers built from them.
struct ConsoleRenderer: Sendable {
    let library: MustacheLibrary

    init() throws {
        func template(_ bytes: [UInt8]) throws -> MustacheTemplate {
            try MustacheTemplate(string: String(decoding: bytes, as: UTF8.self))
        }
        library = MustacheLibrary(templates: [
            "layout": try template(PackageResources.layout_mustache),
            "tenant": try template(PackageResources.tenant_mustache),
            "message": try template(PackageResources.message_mustache),
            "login": try template(PackageResources.login_mustache),
            "home": try template(PackageResources.home_mustache),
        ])
    }

    /// What every page's layout needs beside its body.
    struct Frame {
        var language: Language
        var title: String
        /// Where the language switch returns to (a path under /console).
        var path: String
        /// The sign-out form's CSRF token, when signed in.
        var csrf: String?
        /// A path to go on to at once (`<meta http-equiv="refresh">`: no script needed).
        var refresh: String? = nil
    }

    func page(_ template: String, _ values: [String: Any], frame: Frame, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var values = values
        let texts = ConsoleTexts.table(frame.language)
        values["t"] = texts
        let body = library.render(values, withTemplate: template) ?? ""
        var layout: [String: Any] = [
            "lang": frame.language.rawValue, "isJa": frame.language == .ja, "title": frame.title, "t": texts,
            "next": ConsoleAssets.queryEncoded(frame.path), "assetVersion": ConsoleAssets.version,
            "signedIn": frame.csrf != nil, "csrf": frame.csrf ?? "", "body": body,
        ]
        // Only when there is one: an empty string counts as a section to mustache.
        if let refresh = frame.refresh { layout["refresh"] = refresh }
        let html = library.render(layout, withTemplate: "layout") ?? ""
        var fields = headers
        fields[.contentType] = "text/html; charset=utf-8"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    /// A page that only says something (an expired link, a refusal).
    func message(
        status: HTTPResponse.Status, language: Language, heading: LocalizedText, paragraphs: [LocalizedText],
        link: (href: String, text: LocalizedText)? = nil, csrf: String? = nil, path: String = "/console", headers: HTTPFields = [:],
        refresh: String? = nil
    ) -> Response {
        var values: [String: Any] = [
            "heading": heading.text(in: language), "paragraphs": paragraphs.map { $0.text(in: language) },
            "kind": status.code >= 400 ? "problem" : "info",
        ]
        if let link {
            values["linkHref"] = link.href
            values["linkText"] = link.text.text(in: language)
        }
        return page(
            "message", values, frame: Frame(language: language, title: heading.text(in: language), path: path, csrf: csrf, refresh: refresh),
            status: status, headers: headers
        )
    }
}

/// The console's style sheet and script, served with validators (`ETag`, `Last-Modified`).
enum ConsoleAssets {
    struct Asset: Sendable {
        let bytes: [UInt8]
        let contentType: String
        let etag: String
    }

    static let css = asset(PackageResources.console_css, "text/css; charset=utf-8")
    static let js = asset(PackageResources.console_js, "text/javascript; charset=utf-8")

    /// The assets change only with the binary: the process's start is their modification time.
    static let lastModified: String = {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return formatter.string(from: Date())
    }()

    /// Part of the assets' URLs, so that a new binary's assets are fetched anew.
    static let version: String = String(css.etag.dropFirst().prefix(8)) + String(js.etag.dropFirst().prefix(8))

    static func asset(_ bytes: [UInt8], _ contentType: String) -> Asset {
        let digest = SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
        return Asset(bytes: bytes, contentType: contentType, etag: "\"\(digest.prefix(32))\"")
    }

    static func queryEncoded(_ value: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~/")
        allowed = allowed.intersection(CharacterSet(charactersIn: Unicode.Scalar(0)...Unicode.Scalar(127)))
        return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }
}
