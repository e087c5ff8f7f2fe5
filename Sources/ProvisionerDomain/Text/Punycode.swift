/// RFC 3492 Punycode, the bootstring encoding that turns one Unicode label of an
/// internationalised domain name into the ASCII that DNS, Google and browsers use
/// (`例え` -> `r8jz45g`, written in a host name as `xn--r8jz45g`).
///
/// Written here rather than taken from Foundation because Foundation offers no IDNA
/// conversion on Linux, and because the custom domains the support desk types and the
/// Public Suffix List's Unicode rules must both end up in exactly the same ASCII form.
///
/// Case flags (RFC 3492 appendix A) are not produced: host names are lower-cased first.
public enum Punycode {
    /// The ACE prefix that marks a Punycode label in a host name (RFC 5890).
    public static let acePrefix = "xn--"

    // Bootstring parameters for Punycode (RFC 3492 section 5).
    private static let base: UInt32 = 36
    private static let tMin: UInt32 = 1
    private static let tMax: UInt32 = 26
    private static let skew: UInt32 = 38
    private static let damp: UInt32 = 700
    private static let initialBias: UInt32 = 72
    private static let initialN: UInt32 = 0x80
    private static let delimiter = UInt8(ascii: "-")

    /// Encodes a label's code points as Punycode, without the `xn--` prefix.
    /// Returns nil only when the label is too long to encode without overflow
    /// (far beyond anything DNS could hold).
    public static func encode(_ input: String) -> String? {
        let scalars = input.unicodeScalars.map(\.value)
        var output: [UInt8] = scalars.filter { $0 < 0x80 }.map { UInt8($0) }
        let basicCount = UInt32(output.count)
        var handled = basicCount
        if basicCount > 0 { output.append(delimiter) }

        var n = initialN
        var delta: UInt32 = 0
        var bias = initialBias
        let total = UInt32(scalars.count)
        while handled < total {
            // The smallest code point not handled yet.
            guard let m = scalars.filter({ $0 >= n }).min() else { break }
            let (step, overflow1) = (m - n).multipliedReportingOverflow(by: handled + 1)
            if overflow1 { return nil }
            let (sum, overflow2) = delta.addingReportingOverflow(step)
            if overflow2 { return nil }
            delta = sum
            n = m
            for c in scalars {
                if c < n {
                    let (next, overflow) = delta.addingReportingOverflow(1)
                    if overflow { return nil }
                    delta = next
                }
                if c == n {
                    var q = delta
                    var k = base
                    while true {
                        let t = threshold(k, bias)
                        if q < t { break }
                        output.append(digit(t + (q - t) % (base - t)))
                        q = (q - t) / (base - t)
                        k += base
                    }
                    output.append(digit(q))
                    bias = adapt(delta, handled + 1, handled == basicCount)
                    delta = 0
                    handled += 1
                }
            }
            let (nextDelta, overflow3) = delta.addingReportingOverflow(1)
            if overflow3 { return nil }
            delta = nextDelta
            n += 1
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// Decodes Punycode (without the `xn--` prefix) back to Unicode.
    /// Returns nil for anything that is not valid Punycode; never traps.
    public static func decode(_ input: String) -> String? {
        let bytes = Array(input.utf8)
        guard bytes.allSatisfy({ $0 < 0x80 }) else { return nil }
        var output: [UInt32] = []
        var position = 0
        if let lastDelimiter = bytes.lastIndex(of: delimiter) {
            output = bytes[..<lastDelimiter].map { UInt32($0) }
            position = lastDelimiter + 1
        }
        var n = initialN
        var i: UInt32 = 0
        var bias = initialBias
        while position < bytes.count {
            let oldI = i
            var w: UInt32 = 1
            var k = base
            while true {
                guard position < bytes.count, let d = digitValue(bytes[position]) else { return nil }
                position += 1
                let (dw, o1) = d.multipliedReportingOverflow(by: w)
                if o1 { return nil }
                let (sum, o2) = i.addingReportingOverflow(dw)
                if o2 { return nil }
                i = sum
                let t = threshold(k, bias)
                if d < t { break }
                let (nextW, o3) = w.multipliedReportingOverflow(by: base - t)
                if o3 { return nil }
                w = nextW
                k += base
            }
            let length = UInt32(output.count + 1)
            bias = adapt(i - oldI, length, oldI == 0)
            let (nextN, o4) = n.addingReportingOverflow(i / length)
            if o4 { return nil }
            n = nextN
            i %= length
            // Basic code points must appear literally, never encoded.
            guard n >= initialN, Unicode.Scalar(n) != nil else { return nil }
            output.insert(n, at: Int(i))
            i += 1
        }
        var result = String.UnicodeScalarView()
        for value in output {
            guard let scalar = Unicode.Scalar(value) else { return nil }
            result.append(scalar)
        }
        return String(result)
    }

    /// The ASCII form of one host-name label: unchanged when it is ASCII,
    /// else `xn--` followed by its Punycode. Nil if it cannot be encoded.
    public static func asciiLabel(_ label: String) -> String? {
        if label.unicodeScalars.allSatisfy(\.isASCII) { return label }
        return encode(label).map { acePrefix + $0 }
    }

    private static func threshold(_ k: UInt32, _ bias: UInt32) -> UInt32 {
        if k <= bias { return tMin }
        if k >= bias + tMax { return tMax }
        return k - bias
    }

    private static func adapt(_ delta: UInt32, _ numPoints: UInt32, _ firstTime: Bool) -> UInt32 {
        var delta = firstTime ? delta / damp : delta / 2
        delta += delta / numPoints
        var k: UInt32 = 0
        while delta > ((base - tMin) * tMax) / 2 {
            delta /= base - tMin
            k += base
        }
        return k + (((base - tMin + 1) * delta) / (delta + skew))
    }

    private static func digit(_ d: UInt32) -> UInt8 {
        // 0..25 -> a..z, 26..35 -> 0..9
        d < 26 ? UInt8(ascii: "a") + UInt8(d) : UInt8(ascii: "0") + UInt8(d - 26)
    }

    private static func digitValue(_ byte: UInt8) -> UInt32? {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"): UInt32(byte - UInt8(ascii: "a"))
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): UInt32(byte - UInt8(ascii: "A"))
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte - UInt8(ascii: "0")) + 26
        default: nil
        }
    }
}
