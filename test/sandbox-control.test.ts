// The sandbox's --dir as a person uses it from several terminals: a second sandbox on a dir in use
// is refused with the first one's pid (and leaves its kubeconfig alone), a stale lock is taken
// over, and `publish` reaches the running sandbox's registry through the dir.
import { after, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LOCK_FILE, startSandbox } from '../sandbox/index.ts'
import { parseImageTag, sendControl } from '../sandbox/control.ts'
import { createSampleRepo } from '../sandbox/sample-repo.ts'

const scratch = mkdtempSync(join(tmpdir(), 'sandbox-control-'))
after(() => rmSync(scratch, { recursive: true, force: true }))

describe('the --dir lock', () => {
  it('refuses a second sandbox on a dir in use with the first one\'s pid, and keeps its kubeconfig', async () => {
    const dir = join(scratch, 'kube-a')
    const first = await startSandbox({ repoDir: scratch, dir, actors: false })
    try {
      const before = readFileSync(first.kubeconfigPath, 'utf8')
      await assert.rejects(startSandbox({ repoDir: scratch, dir, actors: false }), (e: Error) => {
        assert.match(e.message, new RegExp(`another sandbox \\(pid ${process.pid}\\) is using ${dir}`))
        assert.match(e.message, /Stop it first .*or start this one with another --dir/)
        return true
      })
      assert.equal(readFileSync(first.kubeconfigPath, 'utf8'), before, 'the first sandbox\'s kubeconfig is untouched')
      assert.ok(existsSync(join(dir, LOCK_FILE)), 'the first sandbox keeps its lock')
    } finally {
      await first.stop()
    }
    assert.ok(!existsSync(join(dir, 'kubeconfig')) && !existsSync(join(dir, LOCK_FILE)), 'stopping removes its own kubeconfig and lock')
    const again = await startSandbox({ repoDir: scratch, dir, actors: false })
    await again.stop()
  })

  it('names the pid of a sandbox in another process, and takes over the lock of one that is gone', async () => {
    const dir = join(scratch, 'kube-b')
    const other = spawn('sleep', ['30'], { stdio: 'ignore' })
    try {
      await startSandbox({ repoDir: scratch, dir, actors: false }).then((sb) => sb.stop())
      writeFileSync(join(dir, LOCK_FILE), `${other.pid} someone\n`)
      writeFileSync(join(dir, 'kubeconfig'), 'theirs\n')
      await assert.rejects(startSandbox({ repoDir: scratch, dir, actors: false }), new RegExp(`pid ${other.pid}`))
      assert.equal(readFileSync(join(dir, 'kubeconfig'), 'utf8'), 'theirs\n')
    } finally {
      other.kill()
    }
    // a dead pid: the lock is stale
    const dead = spawnSync('true').pid!
    writeFileSync(join(dir, LOCK_FILE), `${dead} gone\n`)
    const sb = await startSandbox({ repoDir: scratch, dir, actors: false })
    assert.match(readFileSync(join(dir, LOCK_FILE), 'utf8'), new RegExp(`^${process.pid} `))
    await sb.stop()
  })

  it('a stopping sandbox whose lock was taken over leaves the new owner\'s kubeconfig', async () => {
    const dir = join(scratch, 'kube-c')
    const sb = await startSandbox({ repoDir: scratch, dir, actors: false })
    writeFileSync(join(dir, LOCK_FILE), `999999999 newer\n`)
    writeFileSync(join(dir, 'kubeconfig'), 'newer\n')
    await sb.stop()
    assert.equal(readFileSync(join(dir, 'kubeconfig'), 'utf8'), 'newer\n')
  })
})

describe('publish', () => {
  it('splits <image>:<tag> and refuses what is not one', () => {
    assert.deepEqual(parseImageTag('ghcr.io/o/app:sha-1234567'), { image: 'ghcr.io/o/app', tag: 'sha-1234567' })
    assert.deepEqual(parseImageTag('localhost:5000/app:1.2.3'), { image: 'localhost:5000/app', tag: '1.2.3' })
    assert.throws(() => parseImageTag('localhost:5000/app'), /has no tag/)
    assert.throws(() => parseImageTag('ghcr.io/o/app@sha256:abc'), /a digest cannot be published/)
    assert.throws(() => parseImageTag('ghcr.io/o/app:-x'), /not a valid image tag/)
  })

  it('adds the tag to the running sandbox\'s registry through its dir', async () => {
    const repo = createSampleRepo({}, join(scratch, 'repo'))
    const dir = join(scratch, 'kube-p')
    const sb = await startSandbox({ repoDir: repo.dir, dir, controllerDelayMs: 20 })
    try {
      assert.ok(!sb.actors.registry.tags('ghcr.io/meirongdev/it-tools').includes('sha-7654321'))
      const answer = await sendControl(dir, { action: 'publish', ...parseImageTag('ghcr.io/meirongdev/it-tools:sha-7654321') })
      assert.equal(answer.ok, true, answer.message)
      assert.match(answer.message, /published ghcr\.io\/meirongdev\/it-tools:sha-7654321/)
      assert.ok(sb.actors.registry.tags('ghcr.io/meirongdev/it-tools').includes('sha-7654321'))
    } finally {
      await sb.stop()
    }
    await assert.rejects(sendControl(dir, { action: 'publish', image: 'x', tag: 'y' }), /no sandbox serves/)
  })
})
