/**
 * `/signin`: username and password, posted as JSON to POST /api/v1/session, which sets the
 * session cookie; then on to `next`, which must be a path on this server (never another origin).
 * Served without a session; it calls nothing else.
 */
import { renderPage, type RenderedPage } from './layout';

const BODY = String.raw`
<form id="signin" class="stack" autocomplete="on" style="max-width:22rem">
 <p><label>Username<input id="username" name="username" autocomplete="username" required autofocus></label></p>
 <p><label>Password<input id="password" name="password" type="password" autocomplete="current-password" required></label></p>
 <p><button type="submit" id="submit">Sign in</button></p>
</form>
`;

const SCRIPT = String.raw`
  /** Only a local path: "/x" but not "//host" or "/\host", which browsers read as another origin. */
  function safeNext(n) {
    if (!n || n.charAt(0) !== '/' || n.charAt(1) === '/' || n.charAt(1) === '\\') return '/';
    if (n === '/signin' || n.indexOf('/signin?') === 0) return '/';
    return n;
  }
  var next = safeNext(new URLSearchParams(location.search).get('next'));
  // Already signed in (another tab, or the back button): straight on.
  fetch('/api/v1/session', { credentials: 'same-origin' }).then(function (r) { if (r.ok) location.replace(next); }, function () {});
  $('signin').addEventListener('submit', async function (ev) {
    ev.preventDefault();
    $('submit').disabled = true;
    say('Signing in…');
    try {
      var res = await fetch('/api/v1/session', {
        method: 'POST', credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', 'Accept': 'application/json' },
        body: JSON.stringify({ username: $('username').value.trim(), password: $('password').value })
      });
      if (res.ok) { say('Signed in.', 'ok'); location.replace(next); return; }
      var json = await res.json().catch(function () { return {}; });
      say(res.status === 401 ? 'Wrong username or password.' : (json.error || ('Sign-in failed: ' + res.status)), 'error');
      $('password').value = ''; $('password').focus();
    } catch (e) {
      say('Sign-in failed: ' + e.message, 'error');
    } finally {
      $('submit').disabled = false;
    }
  });
  boot(async function () {});
`;

export function signinPage(): RenderedPage {
  return renderPage({ title: 'Sign in', bare: true, body: BODY, script: SCRIPT });
}
