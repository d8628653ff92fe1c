'use strict'
// The renderer's only door to the main process: a few functions, no Node, no ipcRenderer.
const { contextBridge, ipcRenderer } = require('electron')

function subscribe(channel, callback) {
  const listener = (_event, payload) => callback(payload)
  ipcRenderer.on(channel, listener)
  return () => ipcRenderer.removeListener(channel, listener)
}

contextBridge.exposeInMainWorld('seqsync', {
  stats: () => ipcRenderer.invoke('sync:stats'),
  conversations: (limit) => ipcRenderer.invoke('sync:conversations', limit),
  startSync: () => ipcRenderer.invoke('sync:start'),
  cancelSync: () => ipcRenderer.invoke('sync:cancel'),
  onProgress: (callback) => subscribe('sync:progress', callback),
  onDone: (callback) => subscribe('sync:done', callback),
  onChange: (callback) => subscribe('sync:change', callback),
  onRecent: (callback) => subscribe('sync:recent', callback),
  prioritize: (conversationId) => ipcRenderer.invoke('chat:prioritize', conversationId),
  archived: () => ipcRenderer.invoke('chat:archived'),
  archive: (conversationId) => ipcRenderer.invoke('chat:archive', conversationId),
  unarchive: (conversationId) => ipcRenderer.invoke('chat:unarchive', conversationId),
  messages: (conversationId, atMessage) => ipcRenderer.invoke('chat:messages', conversationId, atMessage),
  search: (text) => ipcRenderer.invoke('chat:search', text),
  send: (conversationId, body) => ipcRenderer.invoke('chat:send', conversationId, body),
  edit: (id, body) => ipcRenderer.invoke('chat:edit', id, body),
  remove: (id) => ipcRenderer.invoke('chat:remove', id),
  onWrite: (callback) => subscribe('sync:write', callback),
  mediaFolder: () => ipcRenderer.invoke('media:folder'),
  mediaList: () => ipcRenderer.invoke('media:list'),
  mediaDownload: (mediaId) => ipcRenderer.invoke('media:download', mediaId),
  mediaPause: (mediaId) => ipcRenderer.invoke('media:pause', mediaId),
  mediaResume: (mediaId) => ipcRenderer.invoke('media:resume', mediaId),
  mediaCancel: (mediaId) => ipcRenderer.invoke('media:cancel', mediaId),
  mediaOpen: (mediaId) => ipcRenderer.invoke('media:open', mediaId),
  onMedia: (callback) => subscribe('sync:media', callback),
})
