// libFuzzer entry point over the client_secrets.json path of ProvisionerDomain: the JSON
// parser, the listing summary, the verifier (against no URI set, a cloud host and an IDN
// custom domain), every finding's message in both languages, and the runtime credential.
// A crash, a sanitizer report or a broken invariant below (a trap) is a finding.
import FuzzerDriver
import ProvisionerDomain

private let issuer = try! URISetIssuer(cloudDomain: "crm.example.com")
private let uriSets: [IssuedURISet?] = [
    nil,
    try! issuer.issue(slug: TenantSlug(validating: "acme"), customDomain: nil).uriSet(version: 1),
    try! issuer.issue(slug: TenantSlug(validating: "acme"), customDomain: "カレンダー.例え.jp").uriSet(version: 2),
]
private let contexts: [VerificationContext] = [
    VerificationContext(),
    VerificationContext(clientIDActiveElsewhere: true, liveCheck: .validPair),
    VerificationContext(liveCheck: .clientSecretInvalid),
]

private func check(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError("invariant broken: \(message())") }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = size > 0 && data != nil ? Array(UnsafeBufferPointer(start: data, count: size)) : []
    let parser = JSONParser()

    // 1. The parser: [UInt8] and any other collection of the same bytes agree.
    let parsed: Result<JSONValue, JSONParseError>
    do { parsed = .success(try parser.parse(bytes)) } catch { parsed = .failure(error) }
    let parsedSlice: Result<JSONValue, JSONParseError>
    do { parsedSlice = .success(try parser.parse(bytes[...])) } catch { parsedSlice = .failure(error) }
    check(parsed == parsedSlice, "parse([UInt8]) and parse(ArraySlice) differ")
    if case .failure(let error) = parsed {
        check((0...bytes.count).contains(error.byteOffset), "error offset \(error.byteOffset) outside 0...\(bytes.count)")
        check(error.line >= 1 && error.column >= 1, "error position \(error.line):\(error.column)")
        check(!error.description.isEmpty, "empty parse error description")
    }

    // 2. The summary: refuses exactly what the parser refuses; hash and hint are consistent.
    let digest = ClientSecretsSummary.sha256Hex(bytes)
    check(digest.utf8.count == 64, "sha256 hex length")
    let lenient = ClientSecretsSummary(fileBytes: bytes)
    check(lenient.sha256 == digest, "summary sha256")
    do {
        let summary = try ClientSecretsSummary.summarize(bytes)
        check(summary == lenient, "summarize and init(fileBytes:) differ")
        if case .failure = parsed { fatalError("invariant broken: summarize accepted what parse refused") }
        if let hint = summary.clientSecretHint { check(hint.count == 4, "hint of \(hint.count) characters") }
    } catch {
        if case .success = parsed { fatalError("invariant broken: summarize refused what parse accepted") }
        check(lenient.clientID == nil && lenient.clientType == nil, "summary of non-JSON has fields")
    }

    // 3. The verifier: deterministic; every finding has a message in both languages.
    let verifier = CredentialVerifier()
    for uriSet in uriSets {
        for context in contexts {
            let verdict = verifier.verify(fileBytes: bytes, against: uriSet, context: context)
            _ = verdict.state
            for finding in verdict.findings {
                check(!finding.message(in: .ja).isEmpty, "empty ja message for \(finding.code)")
                check(!finding.message(in: .en).isEmpty, "empty en message for \(finding.code)")
            }
            if uriSet?.version == 1 && context == contexts[0] {
                check(verifier.verify(fileBytes: bytes, against: uriSet, context: context) == verdict, "verdict not deterministic")
            }
        }
    }

    // 4. The runtime credential: its descriptions and mirror never depend on the secret.
    if let credential = RuntimeCredential(fileBytes: bytes) {
        check(!credential.clientID.isEmpty && !credential.clientSecret.isEmpty, "runtime credential without id or secret")
        let other = RuntimeCredential(
            clientID: credential.clientID, clientSecret: credential.clientSecret + "x", projectID: credential.projectID,
            redirectURIs: credential.redirectURIs, javascriptOrigins: credential.javascriptOrigins,
            authURI: credential.authURI, tokenURI: credential.tokenURI
        )
        check(credential.description == other.description, "description shows the secret")
        check(String(reflecting: credential) == String(reflecting: other), "debugDescription shows the secret")
        var dumped = "", dumpedOther = ""
        dump(credential, to: &dumped)
        dump(other, to: &dumpedOther)
        check(dumped == dumpedOther, "dump shows the secret")
    }
    return 0
}

/// The executable's entry point. SwiftPM links `main` to `ClientSecretsFuzz_main` on Linux, so
/// libFuzzer's own `main` is not used: hand the arguments to its driver.
@_cdecl("ClientSecretsFuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzzOne(data, size) }
}
