// The first session of an app shipped with a java/okhttp-gson client generated from the v1.1
// document (test/fixtures/openapi/v1.1.json), against today's server. Same output as Flow.java.
// What the v1.1 document could not do is not tried: clearing a field (Gson drops the null).
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
  // Glue every app shipped with this client needed: its login() chose the JSON media type the v1.1
  // document also listed and sent an empty body; this sends the form it collected.
  // glue:begin
  static class FormLoginClient extends ApiClient {
    @Override
    public String selectHeaderContentType(String[] contentTypes) {
      return contentTypes.length > 0 ? contentTypes[0] : null;
    }
  }
  // glue:end

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
    ApiClient client = new FormLoginClient();
    client.setBasePath(baseUrl);
    AccountsApi accounts = new AccountsApi(client);
    SessionsApi sessions = new SessionsApi(client);
    TodosApi todos = new TodosApi(client);
    String username = "java11" + Long.toString(System.currentTimeMillis(), 36);
    String password = "correct horse battery staple";

    step = "register";
    User user = accounts.registerUser(
        new RegisterRequest().username(username).email(username + "@example.com").password(password).fullName("Jay Va"));
    check(user.getUsername().equals(username) && "Jay Va".equals(user.getFullName()), "registered user");
    passed();

    step = "login";
    Token token = sessions.login(username, password, "password", null, null, null);
    client.setBearerToken(token.getAccessToken());
    check(accounts.getMe().getId().equals(user.getId()), "the token is the new user's");
    passed();

    step = "create";
    String key = "java11-" + System.nanoTime();
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
    TodoList page1 = todos.listTodos(2, 0, null, "created_at");
    TodoList page2 = todos.listTodos(2, 2, null, "created_at");
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
    ErrorResponse staleBody = ErrorResponse.fromJson(stale.getResponseBody());
    check(stale.getCode() == 412 && staleBody.getError().getCode() == ErrorResponseError.CodeEnum.PRECONDITION_FAILED, "412");
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
      for (Change change : page.getChanges()) if (change.getActualInstance() instanceof UpsertChange) seen++;
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
    Change change = delta.getChanges().get(0);
    check(delta.getChanges().size() == 1 && change.getActualInstance() instanceof DeleteChange, "one delete");
    DeleteChange tombstone = change.getDeleteChange();
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
