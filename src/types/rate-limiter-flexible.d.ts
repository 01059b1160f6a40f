// The memory limiter's own file, imported without the package root (see src/http/rate-limit.ts).
declare module 'rate-limiter-flexible/lib/RateLimiterMemory.js' {
  const RateLimiterMemory: unknown;
  export default RateLimiterMemory;
}
