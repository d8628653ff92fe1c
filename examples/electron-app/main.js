'use strict'
// Electron's main process: owns the engine and answers the renderer over IPC. Configure with SEQSYNC_URL,
// SEQSYNC_TOKEN, SEQSYNC_INTEGRATION (and SEQSYNC_DB, default: replica.db in the app's user data folder).
const path = require('node:path')
const { app, BrowserWindow, ipcMain, shell } = require('electron')
const { createBackend } = require('./backend.js')

async function start() {
  await app.whenReady()
  const window = new BrowserWindow({
    width: 900,
    height: 700,
    webPreferences: { preload: path.join(__dirname, 'preload.js'), contextIsolation: true, sandbox: true, nodeIntegration: false },
  })
  const backend = await createBackend(
    {
      dbPath: process.env.SEQSYNC_DB ?? path.join(app.getPath('userData'), 'replica.db'),
      serverUrl: process.env.SEQSYNC_URL ?? 'http://127.0.0.1:8080',
      token: process.env.SEQSYNC_TOKEN,
      integrationId: process.env.SEQSYNC_INTEGRATION ?? 'wa-1',
    },
    (channel, payload) => window.webContents.send(`sync:${channel}`, payload),
    // Media go to the user's Downloads folder, or to the app's own folder on a system without one.
    { appDir: path.join(app.getPath('userData'), 'downloads') },
  )
  ipcMain.handle('sync:stats', () => backend.stats())
  ipcMain.handle('sync:conversations', (_event, limit) => backend.conversations(limit))
  ipcMain.handle('sync:start', () => backend.startSync())
  ipcMain.handle('sync:cancel', () => backend.cancelSync())
  ipcMain.handle('chat:messages', (_event, conversationId, atMessage) => backend.messages(conversationId, atMessage))
  ipcMain.handle('chat:prioritize', (_event, conversationId) => backend.prioritize(conversationId))
  ipcMain.handle('chat:archived', () => backend.archived())
  ipcMain.handle('chat:archive', (_event, conversationId) => backend.archive(conversationId))
  ipcMain.handle('chat:unarchive', (_event, conversationId) => backend.unarchive(conversationId))
  ipcMain.handle('chat:search', (_event, text) => backend.search(text))
  ipcMain.handle('chat:send', (_event, conversationId, body) => backend.send(conversationId, body))
  ipcMain.handle('chat:edit', (_event, id, body) => backend.edit(id, body))
  ipcMain.handle('chat:remove', (_event, id) => backend.remove(id))
  ipcMain.handle('media:folder', () => backend.mediaFolder())
  ipcMain.handle('media:list', () => backend.mediaList())
  ipcMain.handle('media:download', (_event, id) => backend.mediaDownload(id))
  ipcMain.handle('media:pause', (_event, id) => backend.mediaPause(id))
  ipcMain.handle('media:resume', (_event, id) => backend.mediaResume(id))
  ipcMain.handle('media:cancel', (_event, id) => backend.mediaCancel(id))
  // Opens a finished file with the system's application for its type (only a path the queue verified and placed).
  ipcMain.handle('media:open', async (_event, id) => {
    const file = await backend.mediaPath(id)
    return file ? shell.openPath(file) : 'not downloaded'
  })
  app.on('window-all-closed', async () => {
    await backend.close()
    app.quit()
  })
  await window.loadFile(path.join(__dirname, 'renderer', 'index.html'))
}

start()
