// A mobile app's first session with the kotlin/jvm-okhttp4 (moshi) client generated from the served
// document (v1.2). Run by test/clients/generated-clients.test.ts: `FlowKt <base URL>`; prints
// `STEP <name>` per step passed, `FAIL <name>: <why>` and exit 1 on the first that fails.
import java.time.OffsetDateTime
import kotlin.system.exitProcess
import okhttp3.OkHttpClient
import okhttp3.Request
import okhttp3.RequestBody.Companion.toRequestBody
import todo.client.apis.AccountsApi
import todo.client.apis.AttachmentsApi
import todo.client.apis.SessionsApi
import todo.client.apis.TodosApi
import todo.client.infrastructure.ApiClient
import todo.client.infrastructure.ClientError
import todo.client.infrastructure.ClientException
import todo.client.infrastructure.Serializer
import todo.client.infrastructure.Success
import todo.client.models.AttachmentStatus
import todo.client.models.ChangeType
import todo.client.models.CreateAttachmentRequest
import todo.client.models.CreateTodoRequest
import todo.client.models.ErrorBody
import todo.client.models.ErrorCode
import todo.client.models.GrantType
import todo.client.models.RefreshRequest
import todo.client.models.RegisterRequest
import todo.client.models.Todo
import todo.client.models.TodoClearableField
import todo.client.models.TodoSort
import todo.client.models.UpdateMeRequest
import todo.client.models.UpdateTodoRequest
import todo.client.models.UserClearableField

var step = "start"

fun check(ok: Boolean, what: String) {
    if (!ok) throw IllegalStateException(what)
}

fun passed() = println("STEP $step")

/** The status and typed error body of a call that must fail with a 4xx. */
fun errorOf(call: () -> Unit): Pair<Int, ErrorBody?> {
    try {
        call()
    } catch (e: ClientException) {
        val response = e.response
        val body = if (response is ClientError<*>) response.body else null
        val error = if (body is String) Serializer.moshi.adapter(ErrorBody::class.java).fromJson(body) else null
        return e.statusCode to error
    }
    throw IllegalStateException("expected an error response")
}

fun main(args: Array<String>) {
    try {
        run(args[0])
    } catch (e: Exception) {
        println("FAIL $step: $e")
        exitProcess(1)
    }
}

fun run(baseUrl: String) {
    val accounts = AccountsApi(baseUrl)
    val sessions = SessionsApi(baseUrl)
    val todos = TodosApi(baseUrl)
    val attachments = AttachmentsApi(baseUrl)
    val username = "kt" + System.currentTimeMillis().toString(36)
    val password = "correct horse battery staple"

    step = "register"
    val user = accounts.registerUser(
        RegisterRequest(username = username, email = "$username@example.com", password = password, fullName = "Kay Tee"),
    )
    check(user.username == username && user.fullName == "Kay Tee", "registered user")
    passed()

    step = "login"
    var token = sessions.login(username, password, GrantType.PASSWORD)
    ApiClient.accessToken = token.accessToken
    check(accounts.getMe().id == user.id, "the token is the new user's")
    passed()

    step = "create"
    val key = "kt-" + System.nanoTime()
    val draft = CreateTodoRequest(
        title = "Buy milk",
        description = "2 litres",
        dueDate = OffsetDateTime.parse("2026-12-24T18:00:00Z"),
    )
    val created = todos.createTodoWithHttpInfo(draft, key)
    val first = if (created is Success) created.data else null
    check(created.statusCode == 201 && first != null && first.version == 1, "created")
    passed()
    val id = first!!.id

    step = "create-retried"
    val again = todos.createTodoWithHttpInfo(draft, key)
    check(again is Success && again.data?.id == id, "the retry returns the same todo")
    check(again.headers["idempotent-replayed"] == listOf("true"), "the retry is a replay")
    passed()

    step = "list-and-page"
    todos.createTodo(CreateTodoRequest(title = "Call mum"))
    todos.createTodo(CreateTodoRequest(title = "Water plants"))
    val page1 = todos.listTodos(limit = 2, offset = 0, sort = TodoSort.CREATED_AT_ASCENDING)
    val page2 = todos.listTodos(limit = 2, offset = 2, sort = TodoSort.CREATED_AT_ASCENDING)
    val titles = (page1.items + page2.items).map { it.title }
    check(page1.total == 3 && titles == listOf("Buy milk", "Call mum", "Water plants"), "pages: $titles")
    passed()

    step = "read-etag"
    val read = todos.getTodoWithHttpInfo(id, null)
    val etag = read.headers["etag"]?.firstOrNull()
    check(read is Success && etag == "\"${read.data?.version}\"", "ETag $etag")
    passed()

    step = "update-if-match"
    val updated = todos.updateTodo(id, UpdateTodoRequest(title = "Buy oat milk"), etag)
    check(updated.title == "Buy oat milk" && updated.version == 2, "updated")
    passed()

    step = "update-stale-412"
    val (staleStatus, staleBody) = errorOf { todos.updateTodo(id, UpdateTodoRequest(title = "x"), etag) }
    check(staleStatus == 412 && staleBody?.error?.code == ErrorCode.PRECONDITION_FAILED, "412")
    passed()

    step = "clear-field"
    val cleared = todos.updateTodo(
        id,
        UpdateTodoRequest(clear = listOf(TodoClearableField.DUE_DATE, TodoClearableField.DESCRIPTION)),
    )
    check(cleared.dueDate == null && cleared.description == null && cleared.title == "Buy oat milk", "cleared")
    val me = accounts.updateMe(UpdateMeRequest(clear = listOf(UserClearableField.FULL_NAME)))
    check(me.fullName == null, "full_name cleared")
    passed()

    step = "complete"
    val done = todos.completeTodo(id, "$key-done")
    check(done.completed, "completed")
    passed()

    // The bytes go to storage with the presigned request, not through the API: the platform's
    // HTTP client (OkHttp, which the generated client is built on) sends them as `upload` says.
    step = "attachment"
    val bytes = "a note from the Kotlin flow\n".toByteArray()
    val reserved = attachments.createAttachment(
        id,
        CreateAttachmentRequest(filename = "note.txt", contentType = "text/plain", propertySize = bytes.size.toLong()),
        "$key-file",
    )
    val upload = reserved.upload
    val put = Request.Builder()
        .url(upload.url.toString())
        .method(upload.method.value, bytes.toRequestBody())
        .apply { upload.headers.forEach { (name, value) -> header(name, value) } }
        .build()
    OkHttpClient().newCall(put).execute().use { check(it.isSuccessful, "upload answered ${it.code}") }
    val ready = attachments.completeAttachment(reserved.attachment.id)
    check(ready.status == AttachmentStatus.READY, "ready")
    val withFile = todos.getTodo(id)
    check(withFile.attachments.map { it.id } == listOf(reserved.attachment.id), "the todo lists it")
    // The attachment was a change of the todo: its version grew.
    check(withFile.version == done.version + 1, "version ${withFile.version}")
    passed()

    step = "sync-from-start"
    var cursor: String? = null
    var seen = 0
    do {
        val page = todos.listTodoChanges(cursor, 2)
        seen += page.changes.count { it.type == ChangeType.UPSERT && it.todo != null }
        cursor = page.nextCursor
    } while (page.hasMore)
    check(seen == 3, "$seen upserts")
    passed()

    step = "delete"
    todos.deleteTodo(id, "\"${withFile.version}\"")
    check(errorOf { todos.getTodo(id) }.first == 404, "gone")
    passed()

    step = "sync-tombstone"
    val delta = todos.listTodoChanges(cursor)
    val tombstone = delta.changes.single()
    check(tombstone.type == ChangeType.DELETE && tombstone.id == id && tombstone.deletedAt != null, "tombstone")
    passed()

    step = "refresh"
    token = sessions.refreshToken(RefreshRequest(refreshToken = token.refreshToken))
    ApiClient.accessToken = token.accessToken
    check(accounts.getMe().id == user.id, "the new access token works")
    passed()

    step = "logout"
    val refresh = token.refreshToken
    sessions.logout(RefreshRequest(refreshToken = refresh))
    check(errorOf { sessions.refreshToken(RefreshRequest(refreshToken = refresh)) }.first == 401, "the login is over")
    passed()

    step = "decode-added-field"
    val adapter = Serializer.moshi.adapter(Todo::class.java)
    val later = adapter.fromJson(adapter.toJson(updated).replaceFirst("{", "{\"priority\":1,"))
    check(later?.id == id, "a todo with a field added by a later release")
    passed()
}
