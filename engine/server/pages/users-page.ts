/**
 * `/users`: the engine's users with their role and whether they are disabled (GET /api/v1/users);
 * add a user with a role (POST), change a role, set a password, disable or enable (PATCH
 * /api/v1/users/:username). Admin only (`users.manage`); the API refuses others anyway. Not
 * refreshed on a timer, so an edit in progress is never overwritten.
 */
import { ROLES } from '../../auth/roles';
import { renderPage, type RenderedPage } from './layout';

const ROLE_OPTIONS = ROLES.map((r) => `<option value="${r}">${r}</option>`).join('');

const BODY = String.raw`
<p id="no-permission" class="error" hidden>Only admins manage users.</p>
<section data-perm="users.manage" hidden>
<table id="users"><thead><tr><th>User</th><th>Role</th><th>State</th><th>Change</th></tr></thead><tbody></tbody></table>

<h2>Add a user</h2>
<form class="filters" id="add-user" autocomplete="off">
 <label>Username<input id="new-username" name="username" required size="16" autocomplete="off"></label>
 <label>Password<input id="new-password" name="password" type="password" required size="16" autocomplete="new-password"></label>
 <label>Role<select id="new-role" name="role">${ROLE_OPTIONS}</select></label>
 <button type="submit" id="add">Add user</button>
</form>
</section>
`;

const SCRIPT = String.raw`
  var ROLES = Array.prototype.map.call($('new-role').options, function (o) { return o.value; });

  async function patch(username, body, done) {
    try {
      await call('PATCH', '/api/v1/users/' + enc(username), body);
      say(done, 'ok');
      await load();
    } catch (e) { say(username + ': ' + e.message, 'error'); }
  }

  function row(u) {
    var role = el('select', { 'aria-label': 'Role of ' + u.username, 'data-role-of': u.username });
    ROLES.forEach(function (r) { role.appendChild(el('option', { value: r, text: r })); });
    role.value = u.role;
    var saveRole = el('button', { type: 'button', text: 'Save role', 'data-save-role': u.username });
    saveRole.addEventListener('click', function () { patch(u.username, { role: role.value }, u.username + ' is now ' + role.value + '.'); });
    var toggle = el('button', { type: 'button', text: u.disabled ? 'Enable' : 'Disable', className: u.disabled ? '' : 'danger', 'data-toggle': u.username });
    toggle.addEventListener('click', function () { patch(u.username, { disabled: !u.disabled }, u.username + (u.disabled ? ' enabled.' : ' disabled.')); });
    var pw = el('input', { type: 'password', size: 12, placeholder: 'new password', autocomplete: 'new-password', 'aria-label': 'New password for ' + u.username });
    var setPw = el('button', { type: 'button', text: 'Set password' });
    setPw.addEventListener('click', function () {
      if (!pw.value) { say('Type the new password first.', 'error'); return; }
      patch(u.username, { password: pw.value }, 'Password of ' + u.username + ' changed.');
    });
    return el('tr', { 'data-user': u.username }, [
      el('td', { text: u.username }), el('td', null, [role]), el('td', null, [el('span', { className: 'state ' + (u.disabled ? 'stopped' : 'running'), text: u.disabled ? 'disabled' : 'active' })]),
      el('td', null, [el('div', { className: 'row-actions' }, [saveRole, toggle, pw, setPw])])
    ]);
  }

  async function load() {
    var data = await call('GET', '/api/v1/users');
    var users = Array.isArray(data) ? data : data.users || [];
    var body = $('users').tBodies[0]; body.textContent = '';
    users.forEach(function (u) { body.appendChild(row(u)); });
  }

  $('add-user').addEventListener('submit', async function (ev) {
    ev.preventDefault();
    var body = { username: $('new-username').value.trim(), password: $('new-password').value, role: $('new-role').value };
    try {
      await call('POST', '/api/v1/users', body);
      say('Added ' + body.username + ' (' + body.role + ').', 'ok');
      $('new-username').value = ''; $('new-password').value = '';
      await load();
    } catch (e) { say('Add ' + body.username + ': ' + e.message, 'error'); }
  });

  boot(async function () {
    if (!can('users.manage')) { $('no-permission').hidden = false; return; }
    await load();
  });
`;

export function usersPage(): RenderedPage {
  return renderPage({ title: 'Users', nav: 'users', body: BODY, script: SCRIPT });
}
