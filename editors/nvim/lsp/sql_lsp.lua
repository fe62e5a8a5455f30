-- sql-lsp for Neovim 0.11+ (vim.lsp.config style).
--
-- Put the folder that holds this lsp/ directory on 'runtimepath' (or copy lsp/sql_lsp.lua and
-- lua/sql_lsp/ into ~/.config/nvim/), then:
--
--   vim.lsp.enable('sql_lsp')
--
-- and, optionally, override any field:
--
--   vim.lsp.config('sql_lsp', {
--     settings = { sqlLsp = {
--       database = { url = 'postgresql://app@localhost/app' },
--       rules = { ['select-star'] = 'error', ['missing-fk-index'] = 'off' },
--     } },
--   })
--
-- The project root is the nearest folder with sql-lsp.toml, pyproject.toml or .git; with none of
-- them the file is served on its own (single-file mode). `:SqlLspRefreshCatalog` reloads the schema
-- catalog (workspace DDL and the live database). `:checkhealth sql_lsp` reports the server, its
-- version, the settings file and the database state (lua/sql_lsp/health.lua). The code action
-- "Rename table/column … in a new migration…" (vim.lsp.buf.code_action()) asks for the new name
-- with vim.ui.input (see `commands` below).

local have_module, sql_lsp = pcall(require, 'sql_lsp')

--- `sql-lsp` on PATH, else python3's sql_lsp module, whichever `--version` shows to be this server
--- (sql-review-lsp): another program of the same name is never started.
local function server_cmd()
  if not have_module then
    return { 'sql-lsp' }
  end
  local cmd = sql_lsp.find_cmd()
  if not cmd then
    vim.schedule(function()
      vim.notify('sql-lsp: no sql-lsp server found on PATH; install it with "pip install '
        .. sql_lsp.distribution .. '" (see :checkhealth sql_lsp)', vim.log.levels.WARN)
    end)
    return { 'sql-lsp' }
  end
  return cmd
end

--- "catalog refreshed: 2 tables, 3 indexes from 2 files" from the server's answer.
local function describe_refresh(result)
  if type(result) == 'string' and result ~= '' then
    return result
  end
  local function count(n, one, many)
    return n .. ' ' .. (n == 1 and one or many)
  end
  if type(result) == 'table' and type(result.tables) == 'number' then
    return string.format('catalog refreshed: %s, %s from %s', count(result.tables, 'table', 'tables'),
      count(result.indexes or 0, 'index', 'indexes'), count(result.files or 0, 'file', 'files'))
  end
  return 'catalog refreshed'
end

--- The "Rename … in a new migration…" code action: ask for the new name, then let the server
--- run the command; it answers with a workspace/applyEdit (the new migration, the renamed uses).
---@param command lsp.Command
---@param ctx table
local function rename_in_migration(command, ctx)
  local client = vim.lsp.get_client_by_id(ctx.client_id)
  local arg = command.arguments and command.arguments[1]
  if not client or type(arg) ~= 'table' then
    return
  end
  vim.ui.input({ prompt = 'New name: ', default = arg.name }, function(name)
    if name == nil or vim.trim(name) == '' then
      return
    end
    local params = { command = command.command, arguments = { vim.tbl_extend('force', arg, { newName = name }) } }
    client:request('workspace/executeCommand', params, function(err)
      if err then
        vim.notify('sql-lsp: ' .. err.message, vim.log.levels.ERROR)
      end
    end, ctx.bufnr)
  end)
end

---@param client vim.lsp.Client
---@param bufnr integer
local function on_attach(client, bufnr)
  vim.api.nvim_buf_create_user_command(bufnr, 'SqlLspRefreshCatalog', function()
    client:exec_cmd({ title = 'Refresh catalog', command = 'sql-lsp.refreshCatalog', arguments = {} }, { bufnr = bufnr },
      function(err, result)
        if err then
          vim.notify('sql-lsp: refreshing the catalog failed: ' .. err.message, vim.log.levels.ERROR)
        else
          vim.notify('sql-lsp: ' .. describe_refresh(result), vim.log.levels.INFO)
        end
      end)
  end, { desc = 'sql-lsp: reload the schema catalog' })
end

---@type vim.lsp.Config
return {
  -- `sql-lsp` from PATH (pip install sql-review-lsp), verified; see server_cmd().
  cmd = server_cmd(),
  filetypes = { 'sql', 'pgsql', 'plsql', 'mysql' },
  root_markers = { 'sql-lsp.toml', 'pyproject.toml', '.git' },
  -- Editor settings, camelCase like the VS Code settings (sqlLsp.*); they override the project's
  -- sql-lsp.toml / [tool.sql-lsp]. Sent at start-up and on workspace/configuration.
  settings = { sqlLsp = vim.empty_dict() },
  before_init = function(params, config)
    if params.initializationOptions == nil then
      local settings = vim.tbl_get(config, 'settings', 'sqlLsp')
      -- an empty Lua table would be sent as a JSON array
      params.initializationOptions = (settings == nil or vim.tbl_isempty(settings)) and vim.empty_dict() or settings
    end
  end,
  on_attach = on_attach,
  -- client-side commands: run by code actions before anything is sent to the server
  commands = { ['sql-lsp.renameInMigration'] = rename_in_migration },
  handlers = have_module and { ['sql-lsp/databaseState'] = sql_lsp.on_database_state } or nil,
}
