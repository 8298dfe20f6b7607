// A real OpenID Connect provider (the npm package oidc-provider) for the NBI's single sign-on
// tests. Usage: node provider.mjs <port> <config.json>; prints "ready" once listening.
// config.json: {"clients": [<client metadata>], "accounts": {"<login>": {"groups": [...]}}}.
// Sign-in is the package's development interaction: any password is accepted for a login listed
// in "accounts"; the account's claims (preferred_username, groups) come from the config.
import { readFileSync } from 'node:fs';
import Provider from 'oidc-provider';

const [port, configPath] = process.argv.slice(2);
const config = JSON.parse(readFileSync(configPath, 'utf8'));

const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: config.clients,
  claims: { openid: ['sub'], profile: ['preferred_username', 'name'], groups: ['groups'] },
  scopes: ['openid', 'profile', 'groups'],
  conformIdTokenClaims: false, // the groups claim in the ID token too, not only from userinfo
  pkce: { required: () => true },
  cookies: { keys: ['acs-test-only-cookie-key'] },
  features: { devInteractions: { enabled: true } },
  async findAccount(_ctx, id) {
    const account = config.accounts[id];
    if (!account) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: id, preferred_username: id, name: id, groups: account.groups || [] };
      },
    };
  },
});

const server = provider.listen(Number(port), '127.0.0.1', () => console.log('ready'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
