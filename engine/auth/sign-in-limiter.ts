/**
 * Slows password guessing: after 10 wrong passwords for one user from one address, or 50 from one
 * address for any users, within 15 minutes, that pair (or address) is refused with 429 until the
 * window passes. Counted per process in memory (rate-limiter-flexible): several engine processes
 * each count their own, which still bounds guessing. bcrypt's cost does the rest.
 */
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';

const WINDOW_SECONDS = 15 * 60;

export class SignInLimiter {
  private readonly perUser = new RateLimiterMemory({ points: 10, duration: WINDOW_SECONDS, keyPrefix: 'user' });
  private readonly perAddress = new RateLimiterMemory({ points: 50, duration: WINDOW_SECONDS, keyPrefix: 'addr' });

  /** Seconds to wait when this attempt is blocked, else 0. */
  async blockedFor(username: string, address: string): Promise<number> {
    username = username.toLowerCase();
    const [user, addr] = await Promise.all([this.perUser.get(`${username}|${address}`), this.perAddress.get(address)]);
    const wait = (res: RateLimiterRes | null, points: number) => (res && res.consumedPoints >= points ? Math.ceil(res.msBeforeNext / 1000) : 0);
    return Math.max(wait(user, 10), wait(addr, 50));
  }

  async failed(username: string, address: string): Promise<void> {
    username = username.toLowerCase();
    // consume() rejects once the points are used up; that is the block itself, not an error here.
    await Promise.allSettled([this.perUser.consume(`${username}|${address}`), this.perAddress.consume(address)]);
  }

  async succeeded(username: string, address: string): Promise<void> {
    username = username.toLowerCase();
    await this.perUser.delete(`${username}|${address}`);
  }
}
