// A mobile app's first session with the java/okhttp-gson client generated from the served
// document (v1.2). Run by test/clients/generated-clients.test.ts: `java Flow <base URL>`; prints
// `STEP <name>` per step passed, `FAIL <name>: <why>` and exit 1 on the first that fails.
import java.time.OffsetDateTime;
import java.util.List;
import todo.client.ApiClient;
import todo.client.ApiException;
import todo.client.ApiResponse;
import todo.client.api.AccountsApi;
import todo.client.api.SessionsApi;
import todo.client.api.TodosApi;
import todo.client.model.*;

public class Flow {
  static String step = "start";

  static void check(boolean ok, String what) {
    if (!ok) throw new IllegalStateException(what);
  }

  static void passed() {
    System.out.println("STEP " + step);
  }

  interface Call {
    void run() throws ApiException;
  }

  static ApiException errorOf(Call call) {
    try {
      call.run();
    } catch (ApiException e) {
      return e;
    }
    throw new IllegalStateException("expected an error response");
  }

  public static void main(String[] args) {
    try {
      run(args[0]);
    } catch (Exception e) {
      System.out.println("FAIL " + step + ": " + e);
      System.exit(1);
    }
  }

  static void run(String baseUrl) throws Exception {
    ApiClient client = new ApiClient();
    client.setBasePath(baseUrl);
    AccountsApi accounts = new AccountsApi(client);
    SessionsApi sessions = new SessionsApi(client);
    TodosApi todos = new TodosApi(client);
    String username = "java" + Long.toString(System.currentTimeMillis(), 36);
    String password = "correct horse battery staple";

    step = "register";
    User user = accounts.registerUser(
        new RegisterRequest().username(username).email(username + "@example.com").password(password).fullName("Jay Va"));
    check(user.getUsername().equals(username) && "Jay Va".equals(user.getFullName()), "registered user");
    passed();

    step = "login";
    Token token = sessions.login(username, password, GrantType.PASSWORD, null, null, null);
    client.setBearerToken(token.getAccessToken());
    check(accounts.getMe().getId().equals(user.getId()), "the token is the new user's");
    passed();

    step = "create";
    String key = "java-" + System.nanoTime();
    CreateTodoRequest draft = new CreateTodoRequest().title("Buy milk").description("2 litres")
        .dueDate(OffsetDateTime.parse("2026-12-24T18:00:00Z"));
    ApiResponse<Todo> created = todos.createTodoWithHttpInfo(draft, key);
    Todo first = created.getData();
    check(created.getStatusCode() == 201 && first.getVersion() == 1, "created");
    passed();

    step = "create-retried";
    ApiResponse<Todo> again = todos.createTodoWithHttpInfo(draft, key);
    check(again.getData().getId().equals(first.getId()), "the retry returns the same todo");
    check(List.of("true").equals(again.getHeaders().get("idempotent-replayed")), "the retry is a replay");
    passed();

    step = "list-and-page";
    todos.createTodo(new CreateTodoRequest().title("Call mum"), null);
    todos.createTodo(new CreateTodoRequest().title("Water plants"), null);
    TodoList page1 = todos.listTodos(2, 0, null, TodoSort.CREATED_AT_ASCENDING);
    TodoList page2 = todos.listTodos(2, 2, null, TodoSort.CREATED_AT_ASCENDING);
    check(page1.getTotal() == 3 && page1.getItems().size() == 2 && page2.getItems().size() == 1, "pages");
    check(page2.getItems().get(0).getTitle().equals("Water plants"), "stable order");
    passed();

    step = "read-etag";
    ApiResponse<Todo> read = todos.getTodoWithHttpInfo(first.getId(), null);
    String etag = read.getHeaders().get("etag").get(0);
    check(etag.equals("\"" + read.getData().getVersion() + "\""), "ETag " + etag);
    passed();

    step = "update-if-match";
    Todo updated = todos.updateTodo(first.getId(), new UpdateTodoRequest().title("Buy oat milk"), etag);
    check(updated.getTitle().equals("Buy oat milk") && updated.getVersion() == 2, "updated");
    passed();

    step = "update-stale-412";
    ApiException stale = errorOf(() -> todos.updateTodo(first.getId(), new UpdateTodoRequest().title("x"), etag));
    ErrorBody staleBody = ErrorBody.fromJson(stale.getResponseBody());
    check(stale.getCode() == 412 && staleBody.getError().getCode() == ErrorCode.PRECONDITION_FAILED, "412");
    passed();

    step = "clear-field";
    Todo cleared = todos.updateTodo(first.getId(),
        new UpdateTodoRequest().addClearItem(TodoClearableField.DUE_DATE).addClearItem(TodoClearableField.DESCRIPTION),
        null);
    check(cleared.getDueDate() == null && cleared.getDescription() == null, "cleared");
    check(cleared.getTitle().equals("Buy oat milk"), "the rest kept");
    User me = accounts.updateMe(new UpdateMeRequest().addClearItem(UserClearableField.FULL_NAME));
    check(me.getFullName() == null, "full_name cleared");
    passed();

    step = "complete";
    Todo done = todos.completeTodo(first.getId(), key + "-done", null);
    check(done.getCompleted(), "completed");
    passed();

    step = "sync-from-start";
    String cursor = null;
    int seen = 0;
    for (boolean more = true; more; ) {
      ChangesPage page = todos.listTodoChanges(cursor, 2);
      for (Change change : page.getChanges()) if (change.getType() == ChangeType.UPSERT && change.getTodo() != null) seen++;
      cursor = page.getNextCursor();
      more = page.getHasMore();
    }
    check(seen == 3, seen + " upserts");
    passed();

    step = "delete";
    todos.deleteTodo(first.getId(), "\"" + done.getVersion() + "\"");
    check(errorOf(() -> todos.getTodo(first.getId(), null)).getCode() == 404, "gone");
    passed();

    step = "sync-tombstone";
    ChangesPage delta = todos.listTodoChanges(cursor, null);
    Change tombstone = delta.getChanges().get(0);
    check(delta.getChanges().size() == 1 && tombstone.getType() == ChangeType.DELETE, "one delete");
    check(tombstone.getId().equals(first.getId()) && tombstone.getDeletedAt() != null, "the tombstone");
    passed();

    step = "refresh";
    token = sessions.refreshToken(new RefreshRequest().refreshToken(token.getRefreshToken()));
    client.setBearerToken(token.getAccessToken());
    check(accounts.getMe().getId().equals(user.getId()), "the new access token works");
    passed();

    step = "logout";
    String refresh = token.getRefreshToken();
    sessions.logout(new RefreshRequest().refreshToken(refresh));
    ApiException after = errorOf(() -> sessions.refreshToken(new RefreshRequest().refreshToken(refresh)));
    check(after.getCode() == 401, "the login is over");
    passed();

    step = "decode-added-field";
    Todo later = Todo.fromJson(updated.toJson().replaceFirst("\\{", "{\"priority\":1,"));
    check(later.getId().equals(first.getId()), "a todo with a field added by a later release");
    passed();
  }
}
