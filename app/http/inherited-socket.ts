/**
 * The listening socket systemd passes to a socket-activated service (sd_listen_fds(3)): the
 * socket unit owns it, so it outlives the process. Connections that arrive while one process
 * stops and the next starts wait in its backlog instead of being refused or reset.
 *
 * The protocol: the sockets start at fd 3, LISTEN_FDS says how many, and LISTEN_PID names the
 * process they are meant for (a child that inherited the environment must not take them).
 */
export const LISTEN_FDS_START = 3;

export interface InheritedSocket {
  fd: number;
}

/**
 * The inherited listening socket, or undefined when none was passed (npm start, tests: the
 * server binds HOST:PORT itself). Removes the variables from `env` either way, as
 * sd_listen_fds(1) does, so that no process started later takes the socket as its own.
 */
export function inheritedSocket(
  env: Record<string, string | undefined> = process.env,
  pid: number = process.pid,
): InheritedSocket | undefined {
  const count = env.LISTEN_FDS;
  const forPid = env.LISTEN_PID;
  delete env.LISTEN_FDS;
  delete env.LISTEN_PID;
  delete env.LISTEN_FDNAMES;
  if (count === undefined || forPid !== String(pid)) return undefined;
  if (count === "0") return undefined;
  if (count !== "1") {
    // The unit has one ListenStream=; more is a unit edited by hand, and guessing which one
    // Nginx's upstream points at would serve on the wrong port.
    throw new Error(
      `LISTEN_FDS=${count}: the API listens on exactly one socket (one ListenStream= in its socket unit)`,
    );
  }
  return { fd: LISTEN_FDS_START };
}
