import Hummingbird
import ProvisionerDomain

/// The console's answer when its address has spent its failed authentications (`RateLimits`):
/// a page, as the console answers every other refusal, not a problem document. Here beside
/// the limits rather than among the pages because the bearer API's 429 and this one must say
/// the same: 429, `Retry-After` and the RateLimit fields, and nothing about the link or token
/// that was sent (neither was looked at).
extension Console {
    func tooManyFailedSignIns(_ language: Language, _ refusal: RateLimitState) -> Response {
        let seconds = refusal.decision.secondsUntilAvailable
        return renderer.message(
            status: .tooManyRequests, language: language,
            heading: .init(ja: "しばらくしてからお試しください", en: "Please wait a moment"),
            paragraphs: [.init(
                ja: "このネットワークから、使えないリンクやトークンでのアクセスが続いたため、一時的に受け付けを止めています。\(seconds) 秒後にもう一度お試しください。",
                en: "Too many links or tokens that did not work came from your network, so none is checked for now. Try again in \(RateLimits.seconds(seconds))."
            )],
            headers: RateLimitHeaders.fields(refusal)
        )
    }
}
