/**
 * Triggering Xdebug for one request. Workers run with
 * `xdebug.start_with_request=trigger`; Xdebug then debugs a request that
 * carries `XDEBUG_TRIGGER` as a GET or POST variable, a cookie, or an
 * environment variable. A FastCGI *param* of that name reaches `$_ENV` only
 * when `variables_order` contains `E`, and Debian's php.ini ships `GPCS`, so
 * the pool adds the trigger to the request's `HTTP_COOKIE` param instead:
 * that works under every php.ini, touches only this one request (the browser
 * never sees a Set-Cookie), and leaves the query string the app sees alone.
 */
import type { ParamList } from '../fastcgi/params';

const XDEBUG_TRIGGER = 'XDEBUG_TRIGGER';

/** `XDEBUG_TRIGGER` is already one of the cookie's names (then it is left as it is: PHP keeps a name's first value). */
function hasTrigger(cookie: string): boolean {
  return cookie.split(';').some((pair) => pair.trim().split('=', 1)[0] === XDEBUG_TRIGGER);
}

/**
 * The request's params with `XDEBUG_TRIGGER=<value>` added to `HTTP_COOKIE`:
 * the param is created when absent, and `; XDEBUG_TRIGGER=<value>` appended
 * otherwise. Returns a new list; `params` is not changed. `value` must match
 * `xdebug.trigger_value` when the user set one (see xdebugWorkerArgs).
 */
export function withXdebugTrigger(params: ParamList, value = '1'): ParamList {
  const pair = `${XDEBUG_TRIGGER}=${encodeURIComponent(value)}`;
  const index = params.findIndex(([name]) => name === 'HTTP_COOKIE');
  if (index < 0) return [...params, ['HTTP_COOKIE', pair]];
  const cookie = params[index][1];
  if (hasTrigger(cookie)) return params;
  // "a=1;", "a=1; " and "" are all seen in the wild; join without an empty pair.
  const base = cookie.replace(/[;\s]+$/, '');
  const next: Array<readonly [string, string]> = [...params];
  next[index] = ['HTTP_COOKIE', base === '' ? pair : `${base}; ${pair}`];
  return next;
}
