import { apiRequest, type ApiReply, type ApiRequestInit } from "../../scripts/lib/api-request.js";

/**
 * The few API calls the rehearsal makes itself (beyond the smoke test): enough to leave data on
 * the server and find it again after a reboot, a rolling restart or a restore. Follows docs/API.md.
 */
export class RehearsalClient {
  constructor(readonly baseUrl: string) {}

  request(method: string, path: string, init: ApiRequestInit = {}): Promise<ApiReply> {
    return apiRequest(this.baseUrl, method, path, init);
  }

  async expect(status: number, method: string, path: string, init: ApiRequestInit = {}) {
    const result = await this.request(method, path, init);
    if (result.status !== status) {
      throw new Error(`${method} ${path}: expected ${status}, got ${result.status} ${result.text}`);
    }
    return result.body as Record<string, unknown>;
  }

  async register(username: string, password: string): Promise<void> {
    await this.expect(201, "POST", "/api/v1/users", {
      json: { username, email: `${username}@rehearsal.example.com`, password },
    });
  }

  async login(username: string, password: string): Promise<string> {
    const token = await this.expect(200, "POST", "/api/v1/auth/token", { form: { username, password } });
    const access = token.access_token;
    if (typeof access !== "string") throw new Error(`login: no access_token in ${JSON.stringify(token)}`);
    return access;
  }

  async createTodo(token: string, title: string): Promise<string> {
    const todo = await this.expect(201, "POST", "/api/v1/todos", { token, json: { title } });
    return String(todo.id);
  }

  async todoTitle(token: string, id: string): Promise<string | undefined> {
    const result = await this.request("GET", `/api/v1/todos/${id}`, { token });
    if (result.status === 404) return undefined;
    if (result.status !== 200) throw new Error(`GET /api/v1/todos/${id}: ${result.status} ${result.text}`);
    return String((result.body as Record<string, unknown>).title);
  }
}
