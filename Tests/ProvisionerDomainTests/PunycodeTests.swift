import SeededRandom
import Testing
@testable import ProvisionerDomain

@Suite("RFC 3492 Punycode")
struct PunycodeTests {
    /// RFC 3492 section 7.1 sample strings, as code points, with their Punycode.
    /// The RFC's outputs carry case annotations (mixed case); the encoder copies basic
    /// code points as they are and writes encoded digits in lower case, so samples are
    /// compared case-insensitively where the RFC shows upper-case digits.
    static let rfcSamples: [(String, [UInt32], String)] = [
        ("(A) Arabic (Egyptian)", [
            0x0644, 0x064A, 0x0647, 0x0645, 0x0627, 0x0628, 0x062A, 0x0643, 0x0644,
            0x0645, 0x0648, 0x0634, 0x0639, 0x0631, 0x0628, 0x064A, 0x061F,
        ], "egbpdaj6bu4bxfgehfvwxn"),
        ("(B) Chinese (simplified)", [
            0x4ED6, 0x4EEC, 0x4E3A, 0x4EC0, 0x4E48, 0x4E0D, 0x8BF4, 0x4E2D, 0x6587,
        ], "ihqwcrb4cv8a8dqg056pqjye"),
        ("(C) Chinese (traditional)", [
            0x4ED6, 0x5011, 0x7232, 0x4EC0, 0x9EBD, 0x4E0D, 0x8AAA, 0x4E2D, 0x6587,
        ], "ihqwctvzc91f659drss3x8bo0yb"),
        ("(D) Czech", [
            0x0050, 0x0072, 0x006F, 0x010D, 0x0070, 0x0072, 0x006F, 0x0073, 0x0074,
            0x011B, 0x006E, 0x0065, 0x006D, 0x006C, 0x0075, 0x0076, 0x00ED, 0x010D,
            0x0065, 0x0073, 0x006B, 0x0079,
        ], "Proprostnemluvesky-uyb24dma41a"),
        ("(E) Hebrew", [
            0x05DC, 0x05DE, 0x05D4, 0x05D4, 0x05DD, 0x05E4, 0x05E9, 0x05D5, 0x05D8,
            0x05DC, 0x05D0, 0x05DE, 0x05D3, 0x05D1, 0x05E8, 0x05D9, 0x05DD, 0x05E2,
            0x05D1, 0x05E8, 0x05D9, 0x05EA,
        ], "4dbcagdahymbxekheh6e0a7fei0b"),
        ("(I) Russian (Cyrillic)", [
            0x043F, 0x043E, 0x0447, 0x0435, 0x043C, 0x0443, 0x0436, 0x0435, 0x043E,
            0x043D, 0x0438, 0x043D, 0x0435, 0x0433, 0x043E, 0x0432, 0x043E, 0x0440,
            0x044F, 0x0442, 0x043F, 0x043E, 0x0440, 0x0443, 0x0441, 0x0441, 0x043A,
            0x0438,
        ], "b1abfaaepdrnnbgefbaDotcwatmq2g4l"),
        ("(J) Spanish", [
            0x0050, 0x006F, 0x0072, 0x0071, 0x0075, 0x00E9, 0x006E, 0x006F, 0x0070,
            0x0075, 0x0065, 0x0064, 0x0065, 0x006E, 0x0073, 0x0069, 0x006D, 0x0070,
            0x006C, 0x0065, 0x006D, 0x0065, 0x006E, 0x0074, 0x0065, 0x0068, 0x0061,
            0x0062, 0x006C, 0x0061, 0x0072, 0x0065, 0x006E, 0x0045, 0x0073, 0x0070,
            0x0061, 0x00F1, 0x006F, 0x006C,
        ], "PorqunopuedensimplementehablarenEspaol-fmd56a"),
        ("(K) Vietnamese", [
            0x0054, 0x1EA1, 0x0069, 0x0073, 0x0061, 0x006F, 0x0068, 0x1ECD, 0x006B,
            0x0068, 0x00F4, 0x006E, 0x0067, 0x0074, 0x0068, 0x1EC3, 0x0063, 0x0068,
            0x1EC9, 0x006E, 0x00F3, 0x0069, 0x0074, 0x0069, 0x1EBF, 0x006E, 0x0067,
            0x0056, 0x0069, 0x1EC7, 0x0074,
        ], "TisaohkhngthchnitingVit-kjcr8268qyxafd2f1b9g"),
        ("(L) 3<nen>B<gumi><kinpachi><sensei>", [
            0x0033, 0x5E74, 0x0042, 0x7D44, 0x91D1, 0x516B, 0x5148, 0x751F,
        ], "3B-ww4c5e180e575a65lsy2b"),
        ("(M) <amuro><namie>-with-SUPER-MONKEYS", [
            0x5B89, 0x5BA4, 0x5948, 0x7F8E, 0x6075, 0x002D, 0x0077, 0x0069, 0x0074,
            0x0068, 0x002D, 0x0053, 0x0055, 0x0050, 0x0045, 0x0052, 0x002D, 0x004D,
            0x004F, 0x004E, 0x004B, 0x0045, 0x0059, 0x0053,
        ], "-with-SUPER-MONKEYS-pc58ag80a8qai00g7n9n"),
        ("(N) Hello-Another-Way-<sorezore><no><basho>", [
            0x0048, 0x0065, 0x006C, 0x006C, 0x006F, 0x002D, 0x0041, 0x006E, 0x006F,
            0x0074, 0x0068, 0x0065, 0x0072, 0x002D, 0x0057, 0x0061, 0x0079, 0x002D,
            0x305D, 0x308C, 0x305E, 0x308C, 0x306E, 0x5834, 0x6240,
        ], "Hello-Another-Way--fc4qua05auwb3674vfr0b"),
        ("(O) <hitotsu><yane><no><shita>2", [
            0x3072, 0x3068, 0x3064, 0x5C4B, 0x6839, 0x306E, 0x4E0B, 0x0032,
        ], "2-u9tlzr9756bt3uc0v"),
        ("(P) Maji<de>Koi<suru>5<byou><mae>", [
            0x004D, 0x0061, 0x006A, 0x0069, 0x3067, 0x004B, 0x006F, 0x0069, 0x3059,
            0x308B, 0x0035, 0x79D2, 0x524D,
        ], "MajiKoi5-783gue6qz075azm5e"),
        ("(Q) <pafii>de<runba>", [
            0x30D1, 0x30D5, 0x30A3, 0x30FC, 0x0064, 0x0065, 0x30EB, 0x30F3, 0x30D0,
        ], "de-jg4avhby1noc0d"),
        ("(R) <sono><supiido><de>", [
            0x305D, 0x306E, 0x30B9, 0x30D4, 0x30FC, 0x30C9, 0x3067,
        ], "d9juau41awczczp"),
        ("(S) -> $1.00 <-", [
            0x002D, 0x003E, 0x0020, 0x0024, 0x0031, 0x002E, 0x0030, 0x0030, 0x0020,
            0x003C, 0x002D,
        ], "-> $1.00 <--"),
    ]

    static func string(_ codePoints: [UInt32]) -> String {
        var view = String.UnicodeScalarView()
        for value in codePoints { view.append(Unicode.Scalar(value)!) }
        return String(view)
    }

    @Test("RFC 3492 samples encode and decode", arguments: rfcSamples.indices)
    func rfcSample(_ index: Int) {
        let (name, codePoints, punycode) = Self.rfcSamples[index]
        let unicode = Self.string(codePoints)
        let encoded = Punycode.encode(unicode)
        #expect(encoded?.lowercased() == punycode.lowercased(), "\(name)")
        // Basic code points keep their case.
        let basic = String(String.UnicodeScalarView(unicode.unicodeScalars.filter(\.isASCII)))
        #expect(encoded?.hasPrefix(basic) == true, "\(name)")
        #expect(Punycode.decode(punycode) == unicode, "\(name)")
    }

    @Test("host-name labels", arguments: [
        ("例え", "xn--r8jz45g"),
        ("bücher", "xn--bcher-kva"),
        ("münchen", "xn--mnchen-3ya"),
        ("日本語", "xn--wgv71a119e"),
        ("みんな", "xn--q9jyb4c"),
        ("ドメイン名例", "xn--eckwd4c7cu47r2wf"),
        ("example", "example"),
        ("", ""),
    ])
    func labels(unicode: String, ascii: String) {
        #expect(Punycode.asciiLabel(unicode) == ascii)
        if ascii.hasPrefix("xn--") {
            #expect(Punycode.decode(String(ascii.dropFirst(4))) == unicode)
        }
    }

    @Test("invalid Punycode decodes to nil, never traps", arguments: [
        "!!!", "ü", "99999999999999999999", "zzzzzzzzzzzzzzzzzzzzzzzzzzzz", "a-", "-9", "b1abfaaepdrnnbgefbaDotcwatmq2g4l-",
    ])
    func invalid(_ text: String) {
        // Either nil or a round trip: whatever it is, it must not trap.
        if let decoded = Punycode.decode(text) {
            #expect(!decoded.isEmpty || text.isEmpty || text.hasSuffix("-"))
        }
    }

    @Test("random round trips")
    func roundTrips() {
        var generator = SeededRandom(seed: 3492)
        for _ in 0..<500 {
            var view = String.UnicodeScalarView()
            for _ in 0..<Int.random(in: 1...20, using: &generator) {
                let value = Bool.random(using: &generator)
                    ? UInt32.random(in: 0x61...0x7A, using: &generator)
                    : UInt32.random(in: 0xA0...0xFFFF, using: &generator)
                if let scalar = Unicode.Scalar(value) { view.append(scalar) }
            }
            let text = String(view)
            let encoded = Punycode.encode(text)
            #expect(encoded != nil)
            if let encoded { #expect(Punycode.decode(encoded) == text) }
        }
    }
}
